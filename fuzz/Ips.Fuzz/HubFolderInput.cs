using System.Text;

namespace Ips.Fuzz;

/// <summary>
/// The single file the <c>hub-folder</c> target is fuzzed with, standing for a Hugging Face model folder:
/// <c>config.json</c>'s bytes, a NUL byte, the weights file's name (<c>model.safetensors</c> or
/// <c>pytorch_model.bin</c>) and a newline, then the weights file's bytes. AFL++ mutates both parts of one input;
/// an input without the NUL is a folder with a config and no weights.
/// </summary>
public static class HubFolderInput
{
    /// <summary>The weights file names a hub folder may hold.</summary>
    public static readonly string[] WeightFiles = ["model.safetensors", "pytorch_model.bin"];

    /// <summary>One input from a config, a weights file name and its bytes.</summary>
    public static byte[] Pack(string configJson, string weightsName, byte[] weights) =>
        [.. Encoding.UTF8.GetBytes(configJson), 0, .. Encoding.ASCII.GetBytes(weightsName + "\n"), .. weights];

    /// <summary>Writes the folder <paramref name="input"/> stands for into <paramref name="folder"/>; a weights name that
    /// is not one of <see cref="WeightFiles"/> leaves the folder without weights.</summary>
    public static void Unpack(ReadOnlySpan<byte> input, string folder)
    {
        var split = input.IndexOf((byte)0);
        File.WriteAllBytes(Path.Combine(folder, "config.json"), (split < 0 ? input : input[..split]).ToArray());
        if (split < 0)
        {
            return;
        }
        var rest = input[(split + 1)..];
        var newline = rest.IndexOf((byte)'\n');
        if (newline < 0)
        {
            return;
        }
        var name = Encoding.ASCII.GetString(rest[..newline]);
        if (WeightFiles.Contains(name, StringComparer.Ordinal))
        {
            File.WriteAllBytes(Path.Combine(folder, name), rest[(newline + 1)..].ToArray());
        }
    }
}
