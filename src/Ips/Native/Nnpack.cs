using System.Runtime.InteropServices;

namespace Ips.Native;

/// <summary>
/// Turns libtorch's NNPACK convolution backend off. On CPUs (and virtual machines) where NNPACK cannot start, libtorch
/// tries it on every eligible convolution and prints "Could not initialize NNPACK! Reason: Unsupported hardware." to
/// stderr each time (36 lines in one <c>ips bench</c>). libtorch only tries when the user setting
/// (<c>at::globalContext().userEnabledNNPACK()</c>, Python's <c>torch.backends.nnpack.set_flags</c>) is on, and
/// TorchSharp does not expose that setting, so it is set here through libtorch's exported C++ functions.
/// Convolutions then take libtorch's other CPU paths (oneDNN or its native kernels).
/// </summary>
internal static partial class Nnpack
{
    private static int _disabled;

    /// <summary>Disables NNPACK once per process; a libtorch without these exports is left as it is.</summary>
    public static void Disable()
    {
        if (Interlocked.Exchange(ref _disabled, 1) == 1)
        {
            return;
        }
        try
        {
            SetUserEnabledNnpack(GlobalContext(), false);
        }
        catch (Exception error) when (error is EntryPointNotFoundException or DllNotFoundException)
        {
            // Another libtorch build: it prints what it prints, nothing else changes.
        }
    }

    /// <summary>True when libtorch's NNPACK user setting is on.</summary>
    public static bool IsEnabled() => UserEnabledNnpack(GlobalContext());

    // at::Context& at::globalContext()
    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial IntPtr GlobalContext();

    // void at::Context::setUserEnabledNNPACK(bool): a member function, `this` first (Itanium C++ ABI).
    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static partial void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    // bool at::Context::userEnabledNNPACK() const
    [LibraryImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool UserEnabledNnpack(IntPtr context);
}
