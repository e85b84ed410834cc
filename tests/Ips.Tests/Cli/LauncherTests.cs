using System.Diagnostics;
using System.Runtime.Versioning;
using Ips.Tests.Data;

namespace Ips.Tests.Cli;

/// <summary>
/// The repository's <c>./ips</c> launcher: it builds only on first use or when a source changed, quietly, and shows
/// the build's output only when the build fails. The launcher is copied into a small tree of its own with a
/// <c>dotnet</c> on PATH that logs each call, so every decision of the script is observed without a real build.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LauncherTests : IDisposable
{
    // Stands in for the .NET CLI: `build` writes the program (or fails when FAIL_BUILD is set), anything else is a
    // run of the program, which echoes its arguments. Every call is logged.
    private const string FakeDotnet = """
        #!/usr/bin/env bash
        echo "$*" >>"$DOTNET_LOG"
        if [ "$1" = build ]; then
          if [ -n "${FAIL_BUILD:-}" ]; then echo "Program.cs(3,1): error CS1002: ; expected"; exit 1; fi
          out="$(dirname "$2")/bin/Release/net10.0"
          mkdir -p "$out" && touch "$out/Ips.Cli.dll"
          echo "Build succeeded."
          exit 0
        fi
        shift
        echo "ran: $*"
        """;

    private readonly TempDir _dir = new();
    private readonly string _tree;
    private readonly string _log;

    public LauncherTests()
    {
        _tree = Directory.CreateDirectory(Path.Combine(_dir.Path, "repo")).FullName;
        File.Copy(RepositoryFiles.Path("ips"), Path.Combine(_tree, "ips"));
        Directory.CreateDirectory(Path.Combine(_tree, "src", "Ips.Cli"));
        File.WriteAllText(Path.Combine(_tree, "src", "Ips.Cli", "Ips.Cli.csproj"), "<Project />\n");
        File.WriteAllText(Path.Combine(_tree, "src", "Ips.Cli", "Program.cs"), "return 0;\n");
        File.WriteAllText(Path.Combine(_tree, "Directory.Build.props"), "<Project />\n");
        // The other folders the launcher watches, as in the repository.
        Directory.CreateDirectory(Path.Combine(_tree, "bench"));
        Directory.CreateDirectory(Path.Combine(_tree, "build"));
        var bin = Directory.CreateDirectory(Path.Combine(_dir.Path, "bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "dotnet"), FakeDotnet.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(Path.Combine(bin, "dotnet"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _log = Path.Combine(_dir.Path, "dotnet.log");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_first_call_builds_quietly_and_later_calls_run_without_building()
    {
        var first = Launch("doctor");
        Assert.Equal(0, first.Code);
        Assert.Equal("ran: doctor", first.Stdout.Trim());
        Assert.Equal("ips: building (sources changed)...", first.Stderr.Trim());
        Assert.DoesNotContain("Build succeeded", first.Stdout + first.Stderr);

        var second = Launch("--version");
        Assert.Equal(0, second.Code);
        Assert.Equal("ran: --version", second.Stdout.Trim());
        Assert.Equal("", second.Stderr);
        Assert.Equal(1, Builds());
    }

    [Fact]
    public void A_changed_source_or_build_setting_builds_again_and_an_unchanged_tree_does_not()
    {
        Launch("doctor");
        File.AppendAllText(Path.Combine(_tree, "src", "Ips.Cli", "Program.cs"), "// changed\n");
        Launch("doctor");
        Assert.Equal(2, Builds());

        File.AppendAllText(Path.Combine(_tree, "Directory.Build.props"), "\n");
        Launch("doctor");
        Assert.Equal(3, Builds());

        // Build outputs under bin/ and obj/ are not sources: writing there must not trigger a build.
        Directory.CreateDirectory(Path.Combine(_tree, "src", "Ips.Cli", "obj"));
        File.WriteAllText(Path.Combine(_tree, "src", "Ips.Cli", "obj", "project.assets.json"), "{}");
        Launch("doctor");
        Assert.Equal(3, Builds());
    }

    [Fact]
    public void A_failed_build_shows_its_errors_exits_non_zero_and_is_retried_on_the_next_call()
    {
        var failed = Launch(new Dictionary<string, string> { ["FAIL_BUILD"] = "1" }, "doctor");
        Assert.Equal(1, failed.Code);
        Assert.Contains("error CS1002", failed.Stderr);
        Assert.DoesNotContain("ran:", failed.Stdout);

        var next = Launch("doctor");
        Assert.Equal(0, next.Code);
        Assert.Equal("ran: doctor", next.Stdout.Trim());
        Assert.Equal(2, Builds());
    }

    [Fact]
    public async Task Two_launches_at_once_build_only_once()
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => Launch("doctor"))));
        Assert.All(runs, run => Assert.Equal("ran: doctor", run.Stdout.Trim()));
        Assert.Equal(1, Builds());
    }

    private int Builds() => File.ReadAllLines(_log).Count(line => line.StartsWith("build ", StringComparison.Ordinal));

    private (int Code, string Stdout, string Stderr) Launch(params string[] args) => Launch(new Dictionary<string, string>(), args);

    private (int Code, string Stdout, string Stderr) Launch(Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir.Path,
        };
        start.ArgumentList.Add(Path.Combine(_tree, "ips"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["PATH"] = Path.Combine(_dir.Path, "bin") + ":" + Environment.GetEnvironmentVariable("PATH");
        start.Environment["DOTNET_LOG"] = _log;
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }
}
