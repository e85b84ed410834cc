using System.Diagnostics;
using System.Reflection;
using Ips.Cli.Hosting;
using Ips.Tests.Data;

namespace Ips.Tests.Cli;

/// <summary>
/// The .NET tool package as a user gets it: packed from the built CLI, installed into a temporary tool path, and run
/// from another directory. `ips doctor` there proves that the packed libLibTorchSharp.so loads on this system (the
/// GLIBCXX_3.4.32 fix travels in the package).
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Output) Run(string file, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    [Fact]
    public void The_packed_tool_installs_into_a_tool_path_and_runs_from_any_directory()
    {
        var project = RepositoryFiles.Path("src/Ips.Cli/Ips.Cli.csproj");
        var configuration = typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var packages = Path.Combine(_dir.Path, "packages");
        var tools = Path.Combine(_dir.Path, "tools");

        // The CLI is already built (the tests reference it); packing only publishes and zips it.
        var pack = Run("dotnet", _dir.Path, "pack", project, "-c", configuration, "--no-build", "-o", packages, "--nologo", "-v", "q");
        Assert.True(pack.Code == 0, pack.Output);
        var package = Assert.Single(Directory.GetFiles(packages, "ips-tool.*.nupkg"));
        var version = Path.GetFileNameWithoutExtension(package)["ips-tool.".Length..];

        var install = Run("dotnet", _dir.Path, "tool", "install", "ips-tool", "--tool-path", tools, "--add-source", packages, "--version", version);
        Assert.True(install.Code == 0, install.Output);

        var ips = Path.Combine(tools, "ips");
        var elsewhere = Directory.CreateDirectory(Path.Combine(_dir.Path, "elsewhere")).FullName;
        var printed = Run(ips, elsewhere, "--version");
        Assert.True(printed.Code == 0, printed.Output);
        // The package's version, with the commit of the build that was packed (which may be newer than this test's).
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(version)}(\\+[0-9a-f]{{40}})?$", printed.Output.Trim());

        var doctor = Run(ips, elsewhere, "doctor");
        Assert.True(doctor.Code == 0, doctor.Output);
        Assert.Contains("libtorch", doctor.Output);
        // doctor has loaded libtorch from the package (it exits 2 when it cannot); the copy there carries the fix.
        var installed = Directory.GetFiles(tools, "libLibTorchSharp.so", SearchOption.AllDirectories);
        Assert.NotEmpty(installed);
        Assert.All(installed, path => Assert.Equal(Ips.Native.GlibcxxNeedState.Weak, Ips.Native.GlibcxxWeakFix.Inspect(File.ReadAllBytes(path), path)));
    }
}
