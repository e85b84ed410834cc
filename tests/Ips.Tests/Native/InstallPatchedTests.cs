using System.Reflection;
using Ips.Native;

namespace Ips.Tests.Native;

/// <summary>
/// How the build puts the patched libLibTorchSharp.so into an output: never a moment with the pristine or a half-written
/// copy (temp file and rename), and no write at all when the output already holds the patched bytes.
/// </summary>
public sealed class InstallPatchedTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("ips-install-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string Pristine() => Path.Combine(
        typeof(InstallPatchedTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TorchSharpNativeDir").Value!,
        "libLibTorchSharp.so");

    [Fact]
    public void The_first_install_writes_the_patched_bytes_and_leaves_the_source_alone()
    {
        var destination = Path.Combine(_scratch, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(GlibcxxWeakFix.InstallPatched(Pristine(), destination));
        Assert.Equal(GlibcxxNeedState.Weak, GlibcxxWeakFix.Inspect(File.ReadAllBytes(destination), destination));
        Assert.Equal(GlibcxxNeedState.Strong, GlibcxxWeakFix.Inspect(File.ReadAllBytes(Pristine()), "pristine"));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(destination)!));
    }

    [Fact]
    public void An_identical_patched_output_is_not_written_again()
    {
        var destination = Path.Combine(_scratch, "libLibTorchSharp.so");
        GlibcxxWeakFix.InstallPatched(Pristine(), destination);
        var written = File.GetLastWriteTimeUtc(destination);
        // A reader holding the file open sees the very same file afterwards: it was neither replaced nor rewritten.
        using var reader = new FileStream(destination, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        Assert.False(GlibcxxWeakFix.InstallPatched(Pristine(), destination));

        Assert.Equal(written, File.GetLastWriteTimeUtc(destination));
        Assert.Equal(Inode(destination), Inode(reader));
    }

    [Fact]
    public void A_pristine_output_is_replaced_by_rename_so_an_open_reader_keeps_a_whole_file()
    {
        var destination = Path.Combine(_scratch, "libLibTorchSharp.so");
        File.Copy(Pristine(), destination);
        using var reader = new FileStream(destination, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var before = Inode(reader);

        Assert.True(GlibcxxWeakFix.InstallPatched(Pristine(), destination));

        // A new file took the name; the one the reader (a starting program) opened is intact and unchanged.
        Assert.NotEqual(before, Inode(destination));
        var seen = new byte[reader.Length];
        reader.ReadExactly(seen);
        Assert.Equal(File.ReadAllBytes(Pristine()), seen);
        Assert.Equal(GlibcxxNeedState.Weak, GlibcxxWeakFix.Inspect(File.ReadAllBytes(destination), destination));
    }

    [Fact]
    public void The_build_output_of_these_tests_holds_the_patched_copy_when_the_system_needs_it()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var expected = GlibcxxWeakFix.SystemLacksVersion() ? GlibcxxNeedState.Weak : GlibcxxNeedState.Strong;
        Assert.Equal(expected, GlibcxxWeakFix.Inspect(File.ReadAllBytes(output), output));
    }

    private static ulong Inode(string path) => Stat("-c", "%i", path);

    private static ulong Inode(FileStream open) => Stat("-L", "-c", "%i", $"/proc/{Environment.ProcessId}/fd/{open.SafeFileHandle.DangerousGetHandle()}");

    private static ulong Stat(params string[] args)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", args) { RedirectStandardOutput = true })!;
        var text = stat.StandardOutput.ReadToEnd();
        stat.WaitForExit();
        return ulong.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
