using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Ips.Tests.Cli;

/// <summary>
/// The built <c>ips</c> program (the Ips.Cli.dll copied next to the test assembly, or the one in IPS_TEST_CLI_DIR)
/// running as a child process, with its output collected line by line, so tests can wait for a progress line and then
/// signal or kill it.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(300);

    private readonly Process _process;
    private readonly List<string> _lines = [];

    private CliProcess(Process process) => _process = process;

    /// <summary>The child's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Everything it printed so far (stdout and stderr, in arrival order).</summary>
    public string Output
    {
        get
        {
            lock (_lines) return string.Join('\n', _lines);
        }
    }

    /// <summary>The output with every run of white space made one space: the console wraps long lines at 80 columns.</summary>
    public string Text => Regex.Replace(Output, @"\s+", " ");

    /// <summary>Starts <c>dotnet Ips.Cli.dll ARGS</c> in <paramref name="workingDirectory"/>.</summary>
    public static CliProcess Start(string workingDirectory, params string[] args) => Start(workingDirectory, null, args);

    /// <summary>Starts <c>WRAPPER dotnet Ips.Cli.dll ARGS</c>: <paramref name="wrapper"/>, when given, is a
    /// program and its arguments that receive the dotnet command line as their last arguments.</summary>
    public static CliProcess Start(string workingDirectory, string[]? wrapper, params string[] args)
    {
        // env restores SIGINT's default action, then becomes dotnet (same pid). A test runner started as a background
        // job of a script (`./run-tests &`) ignores SIGINT, and its children inherit that: ips then rightly ignores
        // Ctrl-C, as a background job should, and the tests that send SIGINT would wait for a stop that never comes.
        var command = new List<string> { "env", "--default-signal=INT", Dotnet, Path.Combine(ProgramDirectory, "Ips.Cli.dll") };
        command.AddRange(args);
        if (wrapper is not null) command.InsertRange(0, wrapper);
        var info = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1)) info.ArgumentList.Add(argument);
        // Plain text: no colour codes, no live progress bars.
        info.Environment["NO_COLOR"] = "1";
        info.Environment["CI"] = "1";
        // One libtorch thread: the model is tiny, and OpenMP threads that spin-wait on a machine shared with other
        // test processes cost far more than they gain. Every run of a comparison gets the same setting.
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment["MKL_NUM_THREADS"] = "1";
        var process = new Process { StartInfo = info };
        var child = new CliProcess(process);
        process.OutputDataReceived += (_, e) => child.Add(e.Data);
        process.ErrorDataReceived += (_, e) => child.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs to the end and returns the exit code and the <see cref="Text"/>.</summary>
    public static (int ExitCode, string Text) Run(string workingDirectory, params string[] args)
    {
        using var child = Start(workingDirectory, args);
        return (child.WaitForExit(), child.Text);
    }

    private void Add(string? line)
    {
        if (line is null) return;
        lock (_lines)
        {
            _lines.Add(line);
            Monitor.PulseAll(_lines);
        }
    }

    /// <summary>Waits until a line contains <paramref name="text"/>; fails with the output when the child ends first.</summary>
    public void WaitForLine(string text)
    {
        var deadline = DateTime.UtcNow + Patience;
        lock (_lines)
        {
            while (!_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
            {
                if (_process.HasExited && _process.WaitForExit(0))
                {
                    Monitor.Wait(_lines, 200);
                    if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return;
                    throw new InvalidOperationException($"ips exited ({_process.ExitCode}) before printing '{text}':\n{string.Join('\n', _lines)}");
                }
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"no line with '{text}' after {Patience}:\n{string.Join('\n', _lines)}");
                Monitor.Wait(_lines, 100);
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling; fails when the child ends first.</summary>
    public void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (_process.HasExited) throw new InvalidOperationException($"ips exited ({_process.ExitCode}) before {what}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not {what} after {Patience}:\n{Output}");
            Thread.Sleep(10);
        }
    }

    /// <summary>Sends a signal by name (TERM, INT) with kill(1).</summary>
    public void Signal(string name) => Assert.True(TrySignal(name), $"kill -s {name} {Id} failed:\n{Output}");

    /// <summary>Sends a signal; false when the process had already ended.</summary>
    public bool TrySignal(string name)
    {
        using var kill = Process.Start("kill", ["-s", name, Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        return kill.ExitCode == 0;
    }

    /// <summary>SIGKILL: the process ends at once, as under the OOM killer.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Waits for the end (output drained) and returns the exit code.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(Patience))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ips did not end within {Patience}:\n{Output}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    // IPS_TEST_CLI_DIR runs these tests against another build of the program, e.g. an older commit's, to see which
    // of them it fails.
    internal static string ProgramDirectory =>
        Environment.GetEnvironmentVariable("IPS_TEST_CLI_DIR") is { Length: > 0 } other ? other : AppContext.BaseDirectory;

    internal static string Dotnet =>
        Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
}
