using System.Globalization;
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
/// Chooses how libtorch's OpenMP worker threads wait between parallel regions, from how busy the machine is when
/// <c>ips</c> starts. libgomp's default keeps a thread that finished its share of a region spinning for a while: on
/// free cores that saves the wake-up of every small region, but where other processes share the cores the spinning
/// takes the time the other threads need, and every region then waits for a thread that is not running. Measured on
/// the 2-core VM of docs/performance.md ("OpenMP threads: spin on free cores, sleep on busy ones"): shared with other
/// jobs, a Megapixel MNIST iteration ran 1.2 to 3.5 times faster with sleeping threads; quiet, the demo's steps ran
/// about 1.3 times faster spinning. So: spin (libgomp's default) where other processes leave the cores free, sleep
/// (<c>OMP_WAIT_POLICY=PASSIVE</c>) otherwise (<see cref="ShouldSleep"/>). Call <see cref="Configure"/> first thing in <c>Main</c>,
/// before libtorch is loaded: libgomp reads its settings once, when it is loaded. The <c>ips</c> command does.
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
    /// Chooses the policy from the machine's load (<see cref="ShouldSleep"/>) and, for sleeping, sets
    /// <c>OMP_WAIT_POLICY=PASSIVE</c> in the process's native environment; leaves everything alone where the user set
    /// <c>OMP_WAIT_POLICY</c> or <c>GOMP_SPINCOUNT</c>. Idempotent; takes effect only when called before libtorch (and
    /// with it libgomp) is loaded.
    /// </summary>
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
    /// <see cref="Configure"/> set here; empty when it set none (the child then waits as libgomp's default, or as the
    /// user's environment says).
    /// </summary>
    public static IReadOnlyDictionary<string, string> EquivalentEnvironment() => State is { SetBy: "ips", Policy: Passive }
        ? new Dictionary<string, string> { [Variable] = Passive }
        : new Dictionary<string, string>();

    /// <summary>The value of <paramref name="name"/> in the C library's environment, which libgomp reads (null when unset).</summary>
    internal static string? NativeVariable(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    /// <summary>
    /// Whether threads should sleep (<c>PASSIVE</c>) rather than spin. Clear cases go by the 1-minute load average:
    /// below <paramref name="cores"/> - 0.5 spin, at <paramref name="cores"/> + 2 or above sleep. Between, the average
    /// may still hold a run that just ended (a spinning run of ours keeps it near the core count for a minute after), so
    /// <paramref name="othersBusyCores"/> measures what other processes use now: spin where they keep less than half a
    /// core busy. An unknown load counts as busy, the choice that is never much slower.
    /// </summary>
    /// <returns>The choice and the figures it rests on, for the state's detail.</returns>
    internal static (bool Sleep, string Why) ShouldSleep(double? loadAverage, int cores, Func<double?> othersBusyCores)
    {
        if (loadAverage is not { } load)
        {
            return (true, "load average unknown");
        }
        var why = string.Create(CultureInfo.InvariantCulture, $"load average {load:F2} on {cores} cores");
        if (load < cores - 0.5 || load >= cores + 2)
        {
            return (load >= cores, why);
        }
        if (othersBusyCores() is not { } others)
        {
            return (true, why);
        }
        return (others >= 0.5, string.Create(CultureInfo.InvariantCulture, $"{why}, other processes busy on {others:F1} cores now"));
    }

    private static OpenMpWaitState Apply()
    {
        var found = Inspect();
        if (found.SetBy != "none" || !OperatingSystem.IsLinux())
        {
            return found;
        }
        var (sleep, why) = ShouldSleep(LoadAverage(), Environment.ProcessorCount, () => OthersBusyCores(TimeSpan.FromMilliseconds(150)));
        if (!sleep)
        {
            return new OpenMpWaitState(found.Policy, "ips", why + ": libgomp's default");
        }
        try
        {
            // .NET's Environment.SetEnvironmentVariable changes only the runtime's own copy; libgomp reads the C one.
            return SetEnv(Variable, Passive, overwrite: 1) == 0
                ? new OpenMpWaitState(Passive, "ips", $"{why}: {Variable}={Passive}")
                : found with { Detail = "setenv failed; libgomp's default" };
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            return found with { Detail = "setenv unavailable; libgomp's default" };
        }
    }

    /// <summary>The first field of <c>/proc/loadavg</c>; null where it cannot be read.</summary>
    private static double? LoadAverage() =>
        ReadProc("/proc/loadavg") is { } text
        && double.TryParse(text.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : null;

    /// <summary>
    /// How many cores' worth of CPU time processes other than this one used over <paramref name="window"/>: the busy
    /// time of all cores (<c>/proc/stat</c>, everything but idle and I/O wait) less this process's own
    /// (<c>/proc/self/stat</c>), both in clock ticks; null where either cannot be read.
    /// </summary>
    internal static double? OthersBusyCores(TimeSpan window)
    {
        if (Ticks() is not { } before)
        {
            return null;
        }
        Thread.Sleep(window);
        if (Ticks() is not { } after || after.Total <= before.Total)
        {
            return null;
        }
        var perCore = (double)(after.Total - before.Total) / Environment.ProcessorCount;
        return Math.Max(0, (after.Busy - before.Busy) - (after.Self - before.Self)) / perCore;
    }

    /// <summary>
    /// All cores' ticks, their busy ticks, and this process's user + system ticks; null where either file is not in
    /// the layout Linux gives (a sandbox's emulated /proc, say): every <c>ips</c> command starts here, so an odd file
    /// must mean "unknown", not a crash.
    /// </summary>
    private static (long Total, long Busy, long Self)? Ticks()
    {
        if (ReadProc("/proc/stat") is not { } stat || ReadProc("/proc/self/stat") is not { } self)
        {
            return null;
        }
        // "cpu  user nice system idle iowait irq softirq steal guest guest_nice": guest time is already in user.
        var line = stat.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // After the command name in parentheses (which may hold spaces): state is field 3, utime and stime 14 and 15.
        var fields = self[(self.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (line.Length < 9 || line[0] != "cpu" || fields.Length < 13
            || Numbers(line[1..9]) is not { } cpu || Numbers(fields[11..13]) is not { } own)
        {
            return null;
        }
        var total = cpu.Sum();
        return (total, total - cpu[3] - cpu[4], own.Sum());
    }

    private static long[]? Numbers(string[] texts)
    {
        var numbers = new long[texts.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            if (!long.TryParse(texts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return null;
            }
        }
        return numbers;
    }

    private static string? ReadProc(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
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
