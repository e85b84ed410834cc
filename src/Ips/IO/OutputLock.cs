using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Ips.IO;

/// <summary>
/// A claim on one output (a slide of <c>ips slides tile</c> or <c>ips slides features</c>) by one process, so that
/// several processes may share an output folder: whoever holds the lock writes the output, the others skip it.
/// </summary>
/// <remarks>
/// <para>Built for shared file systems (NFS, Lustre), where <c>flock</c> and record locks are unreliable: the lock is a
/// file that names its holder's host, process id and process start time, created atomically and whole: written under a
/// unique name and then hard-linked to the lock's name with <c>link(2)</c>, which fails when the lock exists (see
/// <c>TryCreate</c>). The holder touches it (its modification time) every
/// <see cref="HeartbeatInterval"/> from a thread. A lock is stale, and taken over, when its heartbeat is older than the
/// stale limit (a holder that hangs or whose host died) or when its holder is a process of this host that no longer runs
/// (<c>kill -9</c>). Heartbeats are compared with this host's clock, so the hosts' clocks must agree (NTP) to well within
/// the stale limit. A lock of another host with a fresh heartbeat is always respected.</para>
/// <para>Taking over is atomic too: the stale file is renamed to a unique name (only one taker's rename succeeds),
/// checked to be the stale lock that was judged, deleted, and then created anew the same atomic way.</para>
/// </remarks>
public sealed partial class OutputLock : IDisposable
{
    /// <summary>Heartbeat age after which a lock is stale, unless a caller chooses another.</summary>
    public static readonly TimeSpan DefaultStaleAfter = TimeSpan.FromSeconds(60);

    private readonly string _token;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _heartbeat;
    private int _disposed;

    private OutputLock(string path, string token, TimeSpan interval)
    {
        Path = path;
        _token = token;
        HeartbeatInterval = interval;
        // A thread of its own rather than a timer: a busy thread pool (tile loaders, the encoder) must not delay beats.
        _heartbeat = new Thread(() =>
        {
            while (!_stop.Wait(interval))
            {
                Beat();
            }
        })
        { IsBackground = true, Name = "output lock heartbeat" };
        _heartbeat.Start();
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>The lock file of the output called <paramref name="name"/> in <paramref name="directory"/>: <c>.NAME.lock</c>.</summary>
    public static string PathFor(string directory, string name) => System.IO.Path.Combine(directory, "." + name + ".lock");

    /// <summary>How often the holder touches the lock file: a sixth of the stale limit, at most 5 s.</summary>
    public TimeSpan HeartbeatInterval { get; }

    /// <summary>
    /// Takes the lock <paramref name="path"/> for this process, taking over a stale one; null when a live holder has it,
    /// whose description <paramref name="holder"/> then gives (e.g. <c>pid 4242 on host node07, started ...</c>).
    /// </summary>
    /// <param name="path">The lock file; its folder must exist.</param>
    /// <param name="holder">Who holds the lock when it is not taken.</param>
    /// <param name="staleAfter">Heartbeat age after which a lock is stale (default <see cref="DefaultStaleAfter"/>).</param>
    public static OutputLock? TryAcquire(string path, out string? holder, TimeSpan? staleAfter = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var limit = staleAfter ?? DefaultStaleAfter;
        if (limit <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(staleAfter), "the stale limit must be positive");
        }
        var interval = TimeSpan.FromTicks(Math.Min(limit.Ticks / 6, TimeSpan.FromSeconds(5).Ticks));
        var token = Guid.NewGuid().ToString("N");
        // Two rounds: the second follows a takeover of a stale lock, or a lock that vanished while being read.
        for (var round = 0; round < 2; round++)
        {
            if (TryCreate(path, token))
            {
                holder = null;
                return new OutputLock(path, token, interval);
            }
            var existing = Read(path);
            if (existing is null)
            {
                continue;
            }
            if (!existing.IsStale(limit))
            {
                holder = existing.Description;
                return null;
            }
            TakeOver(path, existing);
        }
        holder = Read(path)?.Description ?? "another process";
        return null;
    }

    /// <summary>
    /// Who holds the lock <paramref name="path"/> now, without taking it (for <c>ips slides status</c>); null when there is
    /// no lock. <see cref="OutputLockState.Stale"/> tells whether the next process would take it over.
    /// </summary>
    /// <param name="path">The lock file.</param>
    /// <param name="staleAfter">Heartbeat age after which a lock is stale (default <see cref="DefaultStaleAfter"/>).</param>
    public static OutputLockState? Inspect(string path, TimeSpan? staleAfter = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Read(path) is { } holder
            ? new OutputLockState(holder.Host, holder.Pid, holder.Started, holder.Claimed, holder.Heartbeat, holder.IsStale(staleAfter ?? DefaultStaleAfter), holder.Description)
            : null;
    }

    /// <summary>Stops the heartbeat and removes the lock file, if it is still this holder's.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stop.Set();
        _heartbeat.Join();
        _stop.Dispose();
        if (Read(Path)?.Token == _token)
        {
            File.Delete(Path);
        }
    }

    private void Beat()
    {
        try
        {
            File.SetLastWriteTimeUtc(Path, DateTime.UtcNow);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            // A missed beat is harmless while the next ones come well within the stale limit; the thread must not throw.
        }
    }

    // The lock appears whole or not at all: its content is written to a file of a unique name first, which is then
    // hard-linked to the lock's name with link(2). The link fails with EEXIST when the lock exists, and the server
    // decides it atomically, which is why NFS clients have long relied on it. (File.Move without overwrite is no
    // substitute: .NET checks that the target is absent and then renames, and a rename replaces a lock another
    // process created in between.) A reader therefore never sees an empty or partial lock file.
    private static bool TryCreate(string path, string token)
    {
        string content;
        using (var self = Process.GetCurrentProcess())
        {
            content = Holder.Format(Environment.MachineName, Environment.ProcessId, self.StartTime.ToUniversalTime(), token);
        }
        if (OperatingSystem.IsWindows())
        {
            return TryCreateNew(path, content);
        }
        var staged = path + "." + token + ".new";
        try
        {
            File.WriteAllText(staged, content);
            if (Link(staged, path) == 0)
            {
                return true;
            }
            var error = Marshal.GetLastPInvokeError();
            if (error == Eexist)
            {
                // Over NFS the reply to a link that succeeded can be lost, and the retried call then fails: the lock
                // that exists is this one's when it carries this token.
                return Read(path)?.Token == token;
            }
            // A file system without hard links: an exclusive create, whose file a reader may find still empty.
            return TryCreateNew(path, content);
        }
        finally
        {
            File.Delete(staged);
        }
    }

    // O_CREAT|O_EXCL. Until the content is written a reader finds an empty lock, which it takes for a live unknown
    // holder (its heartbeat is fresh) and leaves alone.
    private static bool TryCreateNew(string path, string content)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
        try
        {
            using var writer = new StreamWriter(stream);
            writer.Write(content);
            return true;
        }
        catch
        {
            // A lock file that names no holder (a full disk) would block the slide for the stale limit.
            stream.Dispose();
            File.Delete(path);
            throw;
        }
    }

    private const int Eexist = 17;

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string created);

    private static void TakeOver(string path, Holder stale)
    {
        var aside = path + "." + Guid.NewGuid().ToString("N") + ".stale";
        try
        {
            File.Move(path, aside);
        }
        catch (FileNotFoundException)
        {
            return; // another taker was first
        }
        // Between judging and renaming, another taker may have replaced the stale lock with its own live one.
        if (Read(aside)?.Token == stale.Token)
        {
            File.Delete(aside);
            return;
        }
        try
        {
            File.Move(aside, path);
        }
        catch (IOException)
        {
            File.Delete(aside);
        }
    }

    private static Holder? Read(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            var heartbeat = File.GetLastWriteTimeUtc(path);
            return Holder.Parse(text, heartbeat);
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private sealed record Holder(string Host, int Pid, DateTime Started, string Token, DateTime Heartbeat, DateTime Claimed)
    {
        private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

        public string Description => Token.Length == 0
            ? "an unknown process (the lock file names no holder)"
            : string.Create(CultureInfo.InvariantCulture, $"pid {Pid} on host {Host}, started {Started.ToString(TimeFormat, CultureInfo.InvariantCulture)}");

        public static string Format(string host, int pid, DateTime started, string token) => string.Create(CultureInfo.InvariantCulture,
            $"host={host}\npid={pid}\nstarted={started.ToString(TimeFormat, CultureInfo.InvariantCulture)}\ntoken={token}\nclaimed={DateTime.UtcNow.ToString(TimeFormat, CultureInfo.InvariantCulture)}\n");

        // A lock file is whole when made by link (see TryCreate); an empty one (an exclusive create still being written,
        // on a file system without hard links) or one damaged by hand reads as an unknown holder, judged by its
        // heartbeat alone.
        public static Holder Parse(string text, DateTime heartbeat)
        {
            var fields = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('=', 2))
                .Where(pair => pair.Length == 2)
                .GroupBy(pair => pair[0], StringComparer.Ordinal)
                .ToDictionary(group => group.Key, group => group.First()[1], StringComparer.Ordinal);
            var pid = fields.TryGetValue("pid", out var p) && int.TryParse(p, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
            DateTime Time(string key) => fields.TryGetValue(key, out var s)
                && DateTime.TryParseExact(s, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
                ? time : DateTime.MinValue;
            return new Holder(fields.GetValueOrDefault("host") ?? "?", pid, Time("started"), fields.GetValueOrDefault("token") ?? "", heartbeat, Time("claimed"));
        }

        public bool IsStale(TimeSpan limit) =>
            DateTime.UtcNow - Heartbeat > limit || (Host == Environment.MachineName && Pid > 0 && !Runs(Pid, Started));

        // The start time tells a reused process id from the holder.
        private static bool Runs(int pid, DateTime started)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                return started == DateTime.MinValue || Math.Abs((process.StartTime.ToUniversalTime() - started).TotalSeconds) < 1;
            }
            catch (ArgumentException)
            {
                return false;
            }
            catch (Exception error) when (error is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
                return true; // cannot tell: treat as alive, the heartbeat still ends a dead lock
            }
        }
    }
}

/// <summary>The holder of an <see cref="OutputLock"/>, as its lock file tells.</summary>
/// <param name="Host">The holder's host name.</param>
/// <param name="Pid">The holder's process id (0 when the file does not say).</param>
/// <param name="Started">When the holder's process started (UTC; <see cref="DateTime.MinValue"/> when unknown).</param>
/// <param name="Claimed">When the holder took the lock (UTC; <see cref="DateTime.MinValue"/> when unknown).</param>
/// <param name="Heartbeat">The holder's last heartbeat (UTC): the lock file's modification time.</param>
/// <param name="Stale">Whether the holder is gone, so that the next process would take the lock over.</param>
/// <param name="Description">The holder in words, e.g. <c>pid 4242 on host node07, started ...</c>.</param>
public sealed record OutputLockState(string Host, int Pid, DateTime Started, DateTime Claimed, DateTime Heartbeat, bool Stale, string Description);
