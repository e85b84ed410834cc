namespace Ips.Native;

/// <summary>What the CPU offers that a speed option depends on, read from <c>/proc/cpuinfo</c> on Linux.</summary>
public static class CpuFeatures
{
    private const string CpuInfo = "/proc/cpuinfo";

    /// <summary>
    /// Whether the CPU does bfloat16 arithmetic natively (the <c>avx512_bf16</c> or <c>amx_bf16</c> flag); null where
    /// the flags cannot be read. Without it libtorch converts bfloat16 to float32 and back around every operation.
    /// </summary>
    public static bool? NativeBfloat16 { get; } = HasNativeBfloat16(CpuInfo);

    /// <summary><see cref="NativeBfloat16"/> of the first <c>flags</c> line of <paramref name="cpuinfo"/>.</summary>
    internal static bool? HasNativeBfloat16(string cpuinfo)
    {
        if (!File.Exists(cpuinfo))
        {
            return null;
        }
        var line = File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        var colon = line?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon < 0)
        {
            return null;
        }
        var flags = line![(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return flags.Contains("avx512_bf16") || flags.Contains("amx_bf16");
    }
}
