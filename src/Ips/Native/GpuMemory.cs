namespace Ips.Native;

/// <summary>
/// Device memory figures for efficiency tracking. TorchSharp 0.107 exposes no CUDA allocator statistics
/// (torch.cuda.memory_stats), so this reads the driver's view through NVML: memory in use on the device.
/// </summary>
public static class GpuMemory
{
    /// <summary>Bytes in use on CUDA device <paramref name="index"/>, or -1 when NVML is unavailable.</summary>
    public static long UsedBytes(int index) => Nvml.Describe(index) is { } device ? device.Used : -1;
}
