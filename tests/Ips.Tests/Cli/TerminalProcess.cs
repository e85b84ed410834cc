using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Ips.Tests.Cli;

/// <summary>
/// The built <c>ips</c> run as a user runs it in an interactive terminal: under a pseudo-terminal of a given width,
/// with <c>TERM=xterm-256color</c> and no CI variable, so it takes the live-progress path that redirected runs (every
/// other test) never reach. util-linux <c>script</c> makes the pseudo-terminal: .NET's Process cannot hand a child a
/// terminal, and forking from a .NET process to call <c>openpty</c>/<c>login_tty</c> is unsafe.
/// </summary>
internal static class TerminalProcess
{
    private const string Script = "/usr/bin/script";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(300);

    /// <summary>Runs <c>ips ARGS</c> in <paramref name="workingDirectory"/> under a terminal of <paramref name="columns"/>
    /// columns, with <c>NO_COLOR=1</c> when <paramref name="noColour"/> and the given extra environment; returns the
    /// exit code and all it wrote to the terminal (escape sequences included).</summary>
    public static (int ExitCode, string Output) Run(string workingDirectory, int columns, bool noColour,
        IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        Assert.True(File.Exists(Script), $"{Script} (util-linux) is missing: the terminal tests need it to make a pseudo-terminal");
        string[] command = [CliProcess.Dotnet, Path.Combine(CliProcess.ProgramDirectory, "Ips.Cli.dll"), .. args];
        // The size is set inside the terminal, by the shell that then becomes ips, so ips sees it from its first line.
        var shell = string.Create(CultureInfo.InvariantCulture, $"stty cols {columns} rows 30 && exec {string.Join(' ', command.Select(Quote))}");
        var info = new ProcessStartInfo(Script)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in new[] { "-qfec", shell, "/dev/null" }) info.ArgumentList.Add(argument);
        // A terminal as users have it: whatever the test runner's environment says about CI or colour must not leak in.
        foreach (var name in new[] { "CI", "NO_COLOR", "COLUMNS", "LINES", "TF_BUILD", "GITHUB_ACTIONS" }) info.Environment.Remove(name);
        info.Environment["TERM"] = "xterm-256color";
        if (noColour) info.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment) info.Environment[name] = value;
        // As CliProcess: one libtorch thread, the same for every run of a comparison.
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment["MKL_NUM_THREADS"] = "1";

        using var process = Process.Start(info)!;
        // Drained while it runs: a terminal whose output nobody reads blocks the program at its next write.
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.Close();
        if (!process.WaitForExit(Patience))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ips {string.Join(' ', args)} did not end within {Patience} in a terminal:\n{output.Result}");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result + errors.Result);
    }

    private static string Quote(string argument) => "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
