using System.Runtime.InteropServices;
using System.Text;

namespace Ips.Native;

/// <summary>
/// The few NVML calls (the NVIDIA driver's management library) that TorchSharp does not expose:
/// device names and memory. Used only when CUDA is available; every call fails soft.
/// </summary>
internal static partial class Nvml
{
    private const string Library = "libnvidia-ml.so.1";

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [LibraryImport(Library, EntryPoint = "nvmlInit_v2")]
    private static partial int Init();

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    private static partial int GetHandle(uint index, out IntPtr device);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetName")]
    private static partial int GetName(IntPtr device, [Out] byte[] name, uint length);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetMemoryInfo")]
    private static partial int GetMemoryInfo(IntPtr device, out MemoryInfo memory);

    /// <summary>Name and memory (total, used; bytes) of CUDA device <paramref name="index"/>, or null when NVML is unavailable.</summary>
    public static (string Name, long Total, long Used)? Describe(int index)
    {
        try
        {
            if (Init() != 0 || GetHandle((uint)index, out var device) != 0)
            {
                return null;
            }
            var buffer = new byte[96];
            var name = GetName(device, buffer, (uint)buffer.Length) == 0
                ? Encoding.ASCII.GetString(buffer, 0, Math.Max(0, Array.IndexOf(buffer, (byte)0)))
                : $"cuda:{index}";
            return GetMemoryInfo(device, out var memory) == 0 ? (name, (long)memory.Total, (long)memory.Used) : (name, -1, -1);
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
