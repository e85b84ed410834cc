using System.Collections;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ips.IO;

/// <summary>
/// Reads and writes a module's weights as a PyTorch <c>state_dict</c> file, so checkpoints move between this
/// implementation and the official one: <c>.pt</c>/<c>.pth</c>/<c>.bin</c> are <c>torch.save</c> zip pickles,
/// <c>.safetensors</c> is the safetensors format. The format is chosen by the file extension.
/// </summary>
public static class StateDictIO
{
    /// <summary>Writes <paramref name="module"/>'s state_dict to <paramref name="path"/> atomically (temp file, then rename).</summary>
    /// <exception cref="ArgumentException">The extension is not one of .pt, .pth, .bin, .safetensors.</exception>
    public static void Save(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        Save(module.state_dict(), path);
    }

    /// <summary>Writes the named tensors <paramref name="tensors"/> as a state_dict file, atomically (e.g. optimiser
    /// buffers, which belong to no module).</summary>
    /// <exception cref="ArgumentException">The extension is not one of .pt, .pth, .bin, .safetensors.</exception>
    public static void Save(IEnumerable<KeyValuePair<string, Tensor>> tensors, string path)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var format = FormatOf(path);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");

        using var scope = NewDisposeScope();
        // Plain contiguous CPU copies: both writers read raw bytes, which device or strided tensors do not give.
        var state = tensors.ToDictionary(
            entry => entry.Key,
            entry => entry.Value.detach().to(CPU).contiguous());
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                if (format == Format.Safetensors)
                {
                    Safetensors.SaveStateDict(stream, state, leaveOpen: true);
                }
                else
                {
                    PyTorchPickler.PickleStateDict(stream, state, leaveOpen: true);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>
    /// Loads the state_dict in <paramref name="path"/> into <paramref name="module"/>. Keys and shapes are checked
    /// first; any disagreement throws one <see cref="InvalidDataException"/> (<see cref="StateDictMismatch"/>) naming the missing, unexpected
    /// and mis-shaped key, and nothing is loaded.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be read, or does not match the module.</exception>
    public static void Load(nn.Module module, string path) => LoadAndFree(module, ReadStateDict(path), path);

    /// <summary>
    /// Loads the state_dict read from <paramref name="stream"/> (e.g. a zip entry) into <paramref name="module"/>, as
    /// <see cref="Load(nn.Module, string)"/> does a file's; <paramref name="sourceName"/> names it in errors and its
    /// extension gives the format.
    /// </summary>
    /// <exception cref="InvalidDataException">The stream is not a readable state_dict, or does not match the module.</exception>
    public static void Load(nn.Module module, Stream stream, string sourceName) =>
        LoadAndFree(module, ReadStateDict(stream, sourceName), sourceName);

    // Copies the state that was read into the module, and frees it whatever happens.
    private static void LoadAndFree(nn.Module module, Dictionary<string, Tensor> state, string sourceName)
    {
        try
        {
            LoadInto(module, state, sourceName);
        }
        finally
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>
    /// Reads a state_dict file (<c>.pt</c>/<c>.pth</c>/<c>.bin</c> or <c>.safetensors</c>) into CPU tensors the
    /// caller owns, e.g. torchvision ImageNet weights for the patch encoder.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable state_dict.</exception>
    public static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        var format = FormatOf(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"State_dict file not found: {path}", path);
        }
        using var stream = File.OpenRead(path);
        return Read(stream, path, format);
    }

    /// <summary>
    /// Reads a state_dict from <paramref name="stream"/> into CPU tensors the caller owns; <paramref name="sourceName"/>
    /// names it in errors and its extension gives the format, as a file's does. A stream that cannot seek (such as a
    /// zip entry's) is read into memory first, since both formats are read by offset.
    /// </summary>
    /// <exception cref="InvalidDataException">The stream is not a readable state_dict.</exception>
    public static Dictionary<string, Tensor> ReadStateDict(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var format = FormatOf(sourceName);
        if (stream.CanSeek)
        {
            return Read(stream, sourceName, format);
        }
        using var buffer = new MemoryStream();
        try
        {
            stream.CopyTo(buffer);
        }
        catch (InvalidDataException error)
        {
            // A zip entry that fails to decompress says so without naming the entry.
            throw new InvalidDataException($"{sourceName}: cannot be read: {error.Message}", error);
        }
        buffer.Position = 0;
        return Read(buffer, sourceName, format);
    }

    private static Dictionary<string, Tensor> Read(Stream stream, string path, Format format)
    {
        RequireSignature(stream, path, format);
        if (format == Format.Pickle)
        {
            TorchArchiveCheck.Check(stream, path);
        }
        try
        {
            if (format == Format.Safetensors)
            {
                return Safetensors.LoadStateDict(stream);
            }
            var table = PyTorchUnpickler.UnpickleStateDict(stream);
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in table)
            {
                if (entry.Key is string key && entry.Value is Tensor tensor)
                {
                    result[key] = tensor;
                }
            }
            return result;
        }
        catch (OutOfMemoryException error)
        {
            // TorchArchiveCheck bounds what the pickle reader allocates by the archive's own bytes; an archive larger
            // than the memory left (under a memory limit, docs/reliability.md) still fails here, and is refused.
            throw new InvalidDataException($"{path}: not a readable PyTorch state_dict: an entry claims more memory than is available", error);
        }
        catch (Exception error) when (error is not FileNotFoundException)
        {
            throw new InvalidDataException(
                $"{path}: not a readable PyTorch state_dict ({(format == Format.Safetensors ? "safetensors" : "torch.save zip")} format expected): {error.Message}",
                error);
        }
    }

    /// <summary>
    /// Copies <paramref name="state"/> into <paramref name="module"/> after checking keys and shapes; keys for which
    /// <paramref name="ignore"/> is true are left out on both sides. <paramref name="sourceName"/> names the origin in errors.
    /// </summary>
    internal static void LoadInto(nn.Module module, IReadOnlyDictionary<string, Tensor> state, string sourceName, Func<string, bool>? ignore = null)
    {
        var (wanted, given) = RequireMatch(module, state, sourceName, ignore);
        using (no_grad())
        {
            foreach (var (key, destination) in wanted)
            {
                destination.copy_(given[key]);
            }
        }
    }

    /// <summary>
    /// Checks that <paramref name="state"/> has exactly the keys and shapes of <paramref name="module"/>'s state_dict
    /// (keys for which <paramref name="ignore"/> is true left out on both sides), without copying anything: a module on
    /// the <c>meta</c> device checks a file before any memory is spent on the real one. Returns both sides' kept entries.
    /// </summary>
    /// <exception cref="InvalidDataException">Keys or shapes differ (see <see cref="StateDictMismatch"/>).</exception>
    internal static (Dictionary<string, Tensor> Wanted, Dictionary<string, Tensor> Given) RequireMatch(
        nn.Module module, IReadOnlyDictionary<string, Tensor> state, string sourceName, Func<string, bool>? ignore = null)
    {
        ignore ??= _ => false;
        var target = module.state_dict();
        var wanted = target.Where(entry => !ignore(entry.Key)).ToDictionary(entry => entry.Key, entry => entry.Value, StringComparer.Ordinal);
        var given = state.Where(entry => !ignore(entry.Key)).ToDictionary(entry => entry.Key, entry => entry.Value, StringComparer.Ordinal);

        var missing = wanted.Keys.Where(key => !given.ContainsKey(key)).Order(StringComparer.Ordinal).ToList();
        var unexpected = given.Keys.Where(key => !wanted.ContainsKey(key)).Order(StringComparer.Ordinal).ToList();
        var misshaped = wanted.Keys.Where(given.ContainsKey)
            .Where(key => !wanted[key].shape.SequenceEqual(given[key].shape))
            .Order(StringComparer.Ordinal)
            .Select(key => $"{key}: file {Shape(given[key])}, model {Shape(wanted[key])}")
            .ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || misshaped.Count > 0)
        {
            throw StateDictMismatch.Create(sourceName, missing, unexpected, misshaped);
        }
        return (wanted, given);
    }

    private static string Shape(Tensor tensor) => "[" + string.Join(", ", tensor.shape) + "]";

    private enum Format
    {
        Pickle,
        Safetensors,
    }

    /// <summary>
    /// Refuses a file whose first bytes are not those of its format, before a reader reports something misleading
    /// (PyBridge calls any non-zip file "the old PyTorch format").
    /// </summary>
    private static void RequireSignature(Stream stream, string path, Format format)
    {
        var head = new byte[9];
        var start = stream.Position;
        var read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var length = stream.Length - start;
        stream.Position = start;
        if (format == Format.Safetensors)
        {
            // safetensors: an 8-byte little-endian header length, then the JSON header.
            if (read < 9 || BitConverter.ToUInt64(head, 0) > (ulong)(length - 8) || head[8] != (byte)'{')
            {
                throw new InvalidDataException($"{path}: not a safetensors file (it starts with an 8-byte header length and a JSON header); is it damaged or another format?");
            }
            return;
        }
        if (read >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4)
        {
            return;
        }
        throw new InvalidDataException(read >= 2 && head[0] == 0x80 && head[1] <= 5
            ? $"{path}: a PyTorch file in the legacy (pre-1.6, non-zip) torch.save format, which is not supported; re-save it with torch.save(model.state_dict(), path) in PyTorch 1.6 or later"
            : $"{path}: not a PyTorch state_dict: torch.save writes a zip archive (starting with 'PK'), and this file is not one; is it damaged or another format?");
    }

    private static Format FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".pt" or ".pth" or ".bin" => Format.Pickle,
        ".safetensors" => Format.Safetensors,
        _ => throw new ArgumentException(
            $"{path}: unknown checkpoint format '{Path.GetExtension(path)}'; use .pt, .pth or .bin (PyTorch torch.save) or .safetensors.",
            nameof(path)),
    };
}
