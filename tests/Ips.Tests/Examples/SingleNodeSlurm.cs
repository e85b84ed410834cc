using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Ips.Tests.Examples;

/// <summary>
/// One task of a finished Slurm job, as <c>scontrol show job</c> reports it: an element of an array job, or a job that
/// is not an array (<paramref name="TaskId"/> null). <paramref name="ExitCode"/> is Slurm's <c>code:signal</c>.
/// </summary>
internal sealed record SlurmTask(int? TaskId, string JobId, string State, string ExitCode, DateTime Start, DateTime End);

/// <summary>
/// A real one-node Slurm cluster for the tests of examples/slurm: munged with a private key, slurmctld and slurmd from
/// Debian's slurm-wlm, all started here as child processes with a generated slurm.conf whose controller and node
/// addresses are 127.0.0.1 (so the cluster's traffic stays on the loopback), free ports, and state, spool, logs and
/// the munge socket in a scratch folder; all stopped by their process ids on <see cref="Dispose"/>. The node declares
/// 32 CPUs, 200 GB and three GPUs (gres entries backed by /dev/null) whatever the machine has
/// (<c>SlurmdParameters=config_overrides</c>), so the examples' resource requests are accepted unchanged; jobs run as
/// root. Needs root (slurmd starts jobs as their user) and the packages: <c>./run-tests</c> installs them when root.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class SingleNodeSlurm : IDisposable
{
    private const string Node = "ipsnode";
    private readonly string _root;
    private readonly List<Process> _daemons = [];

    public SingleNodeSlurm(string root)
    {
        _root = root;
        var missing = new[] { "/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch" }.Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"the Slurm test needs Debian's slurm-wlm and munge ({string.Join(", ", missing)} missing): run ./run-tests as root, which installs them, or: sudo apt-get install -y slurm-wlm munge");
        }
        if (!IsRoot())
        {
            throw new InvalidOperationException("the Slurm test starts slurmd, which must run as root: run the tests as root (./run-tests installs slurm-wlm and munge then)");
        }
        foreach (var folder in new[] { "state", "spool", "log" })
        {
            Directory.CreateDirectory(Path.Combine(root, folder));
        }
        var key = Path.Combine(root, "munge.key");
        File.WriteAllBytes(key, RandomNumberGenerator.GetBytes(1024));
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        for (var gpu = 0; gpu < 3; gpu++)
        {
            File.CreateSymbolicLink(Path.Combine(root, $"gpu{gpu}"), "/dev/null");
        }
        var socket = Path.Combine(root, "munge.sock");
        var host = Environment.MachineName.Split('.')[0];
        ConfigPath = Path.Combine(root, "slurm.conf");
        File.WriteAllText(ConfigPath, string.Create(CultureInfo.InvariantCulture, $"""
            ClusterName=ipstest
            SlurmctldHost={host}(127.0.0.1)
            SlurmctldPort={FreePort()}
            SlurmdPort={FreePort()}
            AuthType=auth/munge
            CredType=cred/munge
            AuthInfo=socket={socket}
            SlurmUser=root
            SlurmdUser=root
            StateSaveLocation={root}/state
            SlurmdSpoolDir={root}/spool
            SlurmctldPidFile={root}/slurmctld.pid
            SlurmdPidFile={root}/slurmd.pid
            SlurmctldLogFile={root}/log/slurmctld.log
            SlurmdLogFile={root}/log/slurmd.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            SchedulerType=sched/builtin
            SlurmdParameters=config_overrides
            ReturnToService=2
            MailProg=/bin/true
            MinJobAge=600
            GresTypes=gpu
            NodeName={Node} NodeAddr=127.0.0.1 NodeHostname={host} CPUs=32 RealMemory=200000 Gres=gpu:3 State=UNKNOWN
            PartitionName=debug Nodes={Node} Default=YES MaxTime=INFINITE State=UP

            """));
        File.WriteAllText(Path.Combine(root, "gres.conf"), $"NodeName={Node} Name=gpu File={root}/gpu[0-2]\n");

        try
        {
            Start("/usr/sbin/munged", "-F", "-f", $"--key-file={key}", $"--socket={socket}", $"--pid-file={root}/munged.pid",
                $"--log-file={root}/log/munged.log", $"--seed-file={root}/munge.seed");
            WaitFor(() => File.Exists(socket), "munged's socket");
            Start("/usr/sbin/slurmctld", "-D", "-i", "-f", ConfigPath);
            Start("/usr/sbin/slurmd", "-D", "-N", Node, "-f", ConfigPath);
            // sinfo fails until slurmctld answers.
            WaitFor(() => { try { return Run("sinfo", "-h", "-N", "-o", "%t").Trim() == "idle"; } catch (InvalidOperationException) { return false; } },
                "the node to be idle");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The generated slurm.conf; the Slurm commands find it through SLURM_CONF.</summary>
    public string ConfigPath { get; }

    /// <summary>
    /// Runs a Slurm client command (sbatch, squeue, scontrol, scancel) against this cluster with
    /// <paramref name="environment"/> added, which a submitted job inherits; returns its standard output.
    /// </summary>
    public string Run(string command, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in args) info.ArgumentList.Add(argument);
        info.Environment["SLURM_CONF"] = ConfigPath;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed ({process.ExitCode}): {error}\n{Logs()}");
        }
        return output.Result;
    }

    public string Run(string command, params string[] args) => Run(command, null, args);

    /// <summary>Waits until none of <paramref name="jobIds"/> is queued or running any more.</summary>
    public void WaitForJobs(TimeSpan patience, params string[] jobIds) =>
        WaitFor(() => Run("squeue", "-h", "-j", string.Join(',', jobIds), "-o", "%i").Trim().Length == 0, $"jobs {string.Join(", ", jobIds)} to end", patience);

    /// <summary>The tasks of array job <paramref name="jobId"/>, by task id; the job itself when it is not an array.</summary>
    public List<SlurmTask> Tasks(string jobId)
    {
        var tasks = new List<SlurmTask>();
        foreach (var line in Run("scontrol", "-o", "show", "job", jobId).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = Field().Matches(line).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
            int? taskId = fields.TryGetValue("ArrayTaskId", out var id) ? int.Parse(id, CultureInfo.InvariantCulture) : null;
            tasks.Add(new SlurmTask(taskId, fields["JobId"], fields["JobState"], fields["ExitCode"], Time(fields["StartTime"]), Time(fields["EndTime"])));
        }
        return [.. tasks.OrderBy(t => t.TaskId)];
    }

    /// <summary>The daemons' logs, for failure messages.</summary>
    public string Logs() => string.Join('\n', new[] { "slurmctld.log", "slurmd.log" }
        .Select(log => Path.Combine(_root, "log", log))
        .Where(File.Exists)
        .Select(log => $"--- {log} (last lines)\n" + string.Join('\n', File.ReadLines(log).TakeLast(15))));

    /// <summary>Cancels what still runs and stops slurmd, slurmctld and munged by their process ids, in that order.</summary>
    public void Dispose()
    {
        if (_daemons.Count == 3 && !_daemons.Any(d => d.HasExited))
        {
            try
            {
                Run("scancel", "--user", "root");
            }
            catch (InvalidOperationException)
            {
                // The daemons are stopped below in any case.
            }
        }
        foreach (var daemon in Enumerable.Reverse(_daemons))
        {
            if (!daemon.HasExited)
            {
                using var kill = Process.Start("kill", ["-s", "TERM", daemon.Id.ToString(CultureInfo.InvariantCulture)]);
                kill.WaitForExit();
                if (!daemon.WaitForExit(TimeSpan.FromSeconds(20)))
                {
                    daemon.Kill();
                    daemon.WaitForExit();
                }
            }
            daemon.Dispose();
        }
        _daemons.Clear();
    }

    private void Start(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = false, RedirectStandardError = false };
        foreach (var argument in args) info.ArgumentList.Add(argument);
        info.Environment["SLURM_CONF"] = ConfigPath;
        _daemons.Add(Process.Start(info)!);
    }

    private void WaitFor(Func<bool> condition, string what, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(60));
        while (!condition())
        {
            if (_daemons.FirstOrDefault(d => d.HasExited) is { } ended)
            {
                throw new InvalidOperationException($"{ended.StartInfo.FileName} ended ({ended.ExitCode}) while waiting for {what}\n{Logs()}");
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no {what} after {patience ?? TimeSpan.FromSeconds(60)}\n{Logs()}");
            }
            Thread.Sleep(200);
        }
    }

    private static bool IsRoot() =>
        File.ReadLines("/proc/self/status").First(line => line.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static DateTime Time(string text) => DateTime.ParseExact(text, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"(\w+)=(\S*)")]
    private static partial Regex Field();
}
