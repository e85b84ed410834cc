using System.Reflection;
using Ips.Native;

namespace Ips.Tests.Native;

public sealed class GlibcxxWeakFixTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("ips-elf-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string PristineLibrary()
    {
        var dir = typeof(GlibcxxWeakFixTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "TorchSharpNativeDir").Value!;
        return Path.Combine(dir, "libLibTorchSharp.so");
    }

    [Fact]
    public void Patch_changes_only_the_weak_flag_of_the_glibcxx_need()
    {
        var original = File.ReadAllBytes(PristineLibrary());
        Assert.Equal(GlibcxxNeedState.Strong, GlibcxxWeakFix.Inspect(original, "pristine"));

        var patched = (byte[])original.Clone();
        Assert.True(GlibcxxWeakFix.Patch(patched, "copy"));

        var differences = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToArray();
        var at = Assert.Single(differences);
        Assert.Equal(original[at] | 0x2, patched[at]);
        Assert.Equal(GlibcxxNeedState.Weak, GlibcxxWeakFix.Inspect(patched, "copy"));
    }

    [Fact]
    public void Patch_is_idempotent()
    {
        var bytes = File.ReadAllBytes(PristineLibrary());
        Assert.True(GlibcxxWeakFix.Patch(bytes, "copy"));
        var once = (byte[])bytes.Clone();
        Assert.False(GlibcxxWeakFix.Patch(bytes, "copy"));
        Assert.Equal(once, bytes);
    }

    [Fact]
    public void PatchFile_breaks_a_hard_link_instead_of_writing_through_it()
    {
        var source = Path.Combine(_scratch, "cache.so");
        var link = Path.Combine(_scratch, "output.so");
        File.Copy(PristineLibrary(), source);
        // .NET has no hard-link API; `ln` makes the same kind of link MSBuild makes with hard-link copies.
        using (var ln = System.Diagnostics.Process.Start("ln", new[] { source, link }))
        {
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }

        Assert.True(GlibcxxWeakFix.PatchFile(link));

        Assert.Equal(File.ReadAllBytes(PristineLibrary()), File.ReadAllBytes(source));
        Assert.Equal(GlibcxxNeedState.Weak, GlibcxxWeakFix.Inspect(File.ReadAllBytes(link), link));
    }

    [Fact]
    public void A_file_that_is_not_elf_is_refused_with_its_name()
    {
        var bytes = "#!/bin/sh\necho this is a script, not a shared library\n"u8.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => GlibcxxWeakFix.Patch(bytes, "script.so"));
        Assert.Contains("script.so", error.Message, StringComparison.Ordinal);
        Assert.Contains("not an ELF file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_32_bit_or_truncated_elf_is_refused()
    {
        var original = File.ReadAllBytes(PristineLibrary());
        var elf32 = (byte[])original.Clone();
        elf32[4] = 1;
        Assert.Contains("64-bit little-endian", Assert.Throws<InvalidDataException>(() => GlibcxxWeakFix.Inspect(elf32, "x.so")).Message, StringComparison.Ordinal);

        var truncated = original.AsSpan(0, 4096).ToArray();
        Assert.Contains("outside the file", Assert.Throws<InvalidDataException>(() => GlibcxxWeakFix.Inspect(truncated, "t.so")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_library_this_process_loads_carries_the_fix_exactly_when_the_system_needs_it()
    {
        var loaded = TorchRuntime.LocateLibTorchSharp();
        Assert.NotNull(loaded);
        var expected = GlibcxxWeakFix.SystemLacksVersion() ? GlibcxxNeedState.Weak : GlibcxxNeedState.Strong;
        Assert.Equal(expected, GlibcxxWeakFix.Inspect(File.ReadAllBytes(loaded), loaded));
    }
}
