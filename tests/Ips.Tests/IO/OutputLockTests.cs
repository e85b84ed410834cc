using System.Diagnostics;
using System.Globalization;
using Ips.IO;
using Ips.Tests.Data;

namespace Ips.Tests.IO;

public sealed class OutputLockTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string LockPath => OutputLock.PathFor(_dir.Path, "slide_1");

    public void Dispose() => _dir.Dispose();

    private static string Content(string host, int pid, DateTime started) => string.Create(CultureInfo.InvariantCulture,
        $"host={host}\npid={pid}\nstarted={started:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}\ntoken=0123456789abcdef0123456789abcdef\n");

    [Fact]
    public void Of_threads_racing_for_a_lock_exactly_one_wins_each_round_and_the_others_are_told_who_holds_it()
    {
        for (var round = 0; round < 20; round++)
        {
            using var start = new Barrier(8);
            var results = new (OutputLock? Lock, string? Holder)[8];
            var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                var taken = OutputLock.TryAcquire(LockPath, out var holder);
                results[i] = (taken, holder);
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            Assert.Single(results, r => r.Lock is not null);
            Assert.All(results.Where(r => r.Lock is null), r =>
                Assert.StartsWith($"pid {Environment.ProcessId} on host {Environment.MachineName}, started ", r.Holder, StringComparison.Ordinal));
            results.Single(r => r.Lock is not null).Lock!.Dispose();
            Assert.False(File.Exists(LockPath));
        }
    }

    [Fact]
    public void A_lock_whose_heartbeat_is_older_than_the_stale_limit_is_taken_over_even_from_another_host()
    {
        File.WriteAllText(LockPath, Content("node-elsewhere", 4242, DateTime.UtcNow.AddHours(-1)));
        File.SetLastWriteTimeUtc(LockPath, DateTime.UtcNow.AddSeconds(-30));

        Assert.Null(OutputLock.TryAcquire(LockPath, out var holder, staleAfter: TimeSpan.FromSeconds(60)));
        Assert.StartsWith("pid 4242 on host node-elsewhere", holder, StringComparison.Ordinal);

        using var taken = OutputLock.TryAcquire(LockPath, out holder, staleAfter: TimeSpan.FromSeconds(10));
        Assert.NotNull(taken);
        Assert.Null(holder);
        Assert.Contains($"pid={Environment.ProcessId}\n", File.ReadAllText(LockPath), StringComparison.Ordinal);
        Assert.Single(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void A_lock_of_a_process_of_this_host_that_no_longer_runs_is_taken_over_at_once()
    {
        using var ended = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        ended.WaitForExit();
        File.WriteAllText(LockPath, Content(Environment.MachineName, ended.Id, DateTime.UtcNow.AddSeconds(-1)));

        using var taken = OutputLock.TryAcquire(LockPath, out _);

        Assert.NotNull(taken);
        Assert.Contains($"pid={Environment.ProcessId}\n", File.ReadAllText(LockPath), StringComparison.Ordinal);
    }

    [Fact]
    public void A_lock_naming_a_running_process_id_with_another_start_time_is_a_reused_id_and_taken_over()
    {
        File.WriteAllText(LockPath, Content(Environment.MachineName, Environment.ProcessId, DateTime.UtcNow.AddDays(-3)));

        using var taken = OutputLock.TryAcquire(LockPath, out _);

        Assert.NotNull(taken);
    }

    [Fact]
    public void A_fresh_lock_of_another_host_is_respected_and_left_as_it_was()
    {
        var content = Content("node-elsewhere", Environment.ProcessId, DateTime.UtcNow);
        File.WriteAllText(LockPath, content);

        Assert.Null(OutputLock.TryAcquire(LockPath, out var holder));

        Assert.StartsWith($"pid {Environment.ProcessId} on host node-elsewhere", holder, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(LockPath));
    }

    [Fact]
    public void The_holder_keeps_its_lock_fresh_with_heartbeats_and_removes_it_when_done()
    {
        using (var held = OutputLock.TryAcquire(LockPath, out _, staleAfter: TimeSpan.FromSeconds(1.2)))
        {
            Assert.NotNull(held);
            Assert.Equal(TimeSpan.FromSeconds(0.2), held.HeartbeatInterval);
            File.SetLastWriteTimeUtc(LockPath, DateTime.UtcNow.AddMinutes(-10));
            var clock = Stopwatch.StartNew();
            while (DateTime.UtcNow - File.GetLastWriteTimeUtc(LockPath) > TimeSpan.FromMinutes(1) && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50);
            }
            Assert.InRange(DateTime.UtcNow - File.GetLastWriteTimeUtc(LockPath), TimeSpan.Zero, TimeSpan.FromSeconds(2));
            // Ten minutes after the time set above, the beats keep the lock from being taken over.
            Assert.Null(OutputLock.TryAcquire(LockPath, out _, staleAfter: TimeSpan.FromSeconds(5)));
        }
        Assert.False(File.Exists(LockPath));
    }

    [Fact]
    public void Processes_racing_for_a_lock_through_the_file_system_let_exactly_one_win()
    {
        // Each shell tries an O_CREAT|O_EXCL create as OutputLock does (noclobber); OutputLock in this process joins them.
        var script = $"set -C; sleep 0.3; if printf \"host=h\\ntoken=t\\n\" > '{LockPath}' 2>/dev/null; then echo won; fi";
        var shells = Enumerable.Range(0, 6).Select(_ =>
            Process.Start(new ProcessStartInfo("sh", ["-c", script]) { RedirectStandardOutput = true, UseShellExecute = false })!).ToList();
        Thread.Sleep(300);
        using var mine = OutputLock.TryAcquire(LockPath, out _);
        var outputs = shells.Select(s => { var text = s.StandardOutput.ReadToEnd(); s.WaitForExit(); s.Dispose(); return text; }).ToList();

        Assert.Equal(1, outputs.Count(o => o.Contains("won", StringComparison.Ordinal)) + (mine is null ? 0 : 1));
    }

    [Fact]
    public void Inspecting_a_lock_names_its_holder_and_when_it_was_claimed_and_a_taken_lock_leaves_no_staging_file()
    {
        Assert.Null(OutputLock.Inspect(LockPath));
        var before = DateTime.UtcNow.AddSeconds(-1);
        using (var held = OutputLock.TryAcquire(LockPath, out _))
        {
            Assert.NotNull(held);
            var state = OutputLock.Inspect(LockPath);
            Assert.NotNull(state);
            Assert.Equal((Environment.MachineName, Environment.ProcessId, false), (state.Host, state.Pid, state.Stale));
            Assert.InRange(state.Claimed, before, DateTime.UtcNow.AddSeconds(1));
            Assert.StartsWith($"pid {Environment.ProcessId} on host {Environment.MachineName}, started ", state.Description, StringComparison.Ordinal);
            // The lock's content was staged under another name and linked into place; the staged name is gone.
            Assert.Equal([Path.GetFileName(LockPath)], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
            Assert.Null(OutputLock.TryAcquire(LockPath, out _));
            Assert.Equal([Path.GetFileName(LockPath)], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
        }
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }
}
