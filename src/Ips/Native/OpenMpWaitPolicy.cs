using System.Runtime.InteropServices;

namespace Ips.Native;

/// <summary>How libtorch's OpenMP threads wait between parallel regions.</summary>
/// <param name="Policy"><c>PASSIVE</c> (sleep), <c>ACTIVE</c> (spin), or libgomp's default (spin for a while, then sleep).</param>
/// <param name="SetBy">Who chose: <c>ips</c> (<see cref="OpenMpWaitPolicy.Configure"/>), <c>environment</c>, or <c>none</c>.</param>
/// <param name="Detail">The variables in effect, e.g. <c>OMP_WAIT_POLICY=PASSIVE</c>.</param>
public sealed record OpenMpWaitState(string Policy, string SetBy, string Detail)
{
    /// <summary>One line for <c>ips doctor</c> and benchmark reports.</summary>
    public override string ToString() => $"{Policy} ({Detail}; set by {SetBy})";
}

/// <summary>
/// Makes libtorch's OpenMP worker threads sleep when they wait instead of spinning. libgomp's default keeps a thread
/// that finished its share of a parallel region spinning on the CPU for a while; where other processes share the
/// cores (or the main thread does serial work between regions) that spinning takes the time the other threads need,
/// and every region then waits for a thread that is not running. On the 2-core VM of docs/performance.md, shared with
/// other jobs, a training iteration of the Megapixel MNIST config ran 1.2 to 3.5 times faster with sleeping threads,
/// on 34 to 45% less CPU time (four interleaved pairs). Call <see cref="Configure"/> first thing in <c>Main</c>, before libtorch is loaded:
/// libgomp reads its settings once, when it is loaded. The <c>ips</c> command does.
/// </summary>
public static partial class OpenMpWaitPolicy
{
    private const string Variable = "OMP_WAIT_POLICY";
    private const string Passive = "PASSIVE";

    /// <summary>The variables with which a user sets how libgomp waits; when any is set, it is left alone.</summary>
    private static readonly string[] EnvironmentSettings = [Variable, "GOMP_SPINCOUNT"];

    private static readonly Lock Gate = new();
    private static OpenMpWaitState? _configured;

    /// <summary>
    /// Sets <c>OMP_WAIT_POLICY=PASSIVE</c> in the process's native environment, unless the user set
    /// <c>OMP_WAIT_POLICY</c> or <c>GOMP_SPINCOUNT</c> already. Idempotent; takes effect only when called before
    /// libtorch (and with it libgomp) is loaded.
    /// </summary>
    /// <returns>The policy afterwards, as <see cref="State"/> reports it.</returns>
    public static OpenMpWaitState Configure()
    {
        lock (Gate)
        {
            _configured ??= Apply();
            return _configured;
        }
    }

    /// <summary>The policy: what <see cref="Configure"/> did, or what the process runs with when it was not called.</summary>
    public static OpenMpWaitState State
    {
        get
        {
            lock (Gate)
            {
                return _configured ?? Inspect();
            }
        }
    }

    /// <summary>
    /// The variable that gives a child process that is not .NET (a Python benchmark, say) the policy
    /// <see cref="Configure"/> set here; empty when it set none (the child inherits the user's environment).
    /// </summary>
    public static IReadOnlyDictionary<string, string> EquivalentEnvironment() => State.SetBy == "ips"
        ? new Dictionary<string, string> { [Variable] = Passive }
        : new Dictionary<string, string>();

    /// <summary>The value of <paramref name="name"/> in the C library's environment, which libgomp reads (null when unset).</summary>
    internal static string? NativeVariable(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    private static OpenMpWaitState Apply()
    {
        var found = Inspect();
        if (found.SetBy != "none" || !OperatingSystem.IsLinux())
        {
            return found;
        }
        try
        {
            // .NET's Environment.SetEnvironmentVariable changes only the runtime's own copy; libgomp reads the C one.
            return SetEnv(Variable, Passive, overwrite: 1) == 0
                ? new OpenMpWaitState(Passive, "ips", Variable + "=" + Passive)
                : found with { Detail = "setenv failed; libgomp's default" };
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            return found with { Detail = "setenv unavailable; libgomp's default" };
        }
    }

    private static OpenMpWaitState Inspect()
    {
        var set = EnvironmentSettings
            .Where(name => Environment.GetEnvironmentVariable(name) is { Length: > 0 })
            .Select(name => name + "=" + Environment.GetEnvironmentVariable(name))
            .ToList();
        if (set.Count > 0)
        {
            var policy = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value.ToUpperInvariant() : "spin count set";
            return new OpenMpWaitState(policy, "environment", string.Join(" ", set));
        }
        return new OpenMpWaitState("spin, then sleep", "none", "libgomp's default");
    }

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc.so.6", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);
}
