using Ips.IO;

namespace Ips.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ips-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_successful_writer_replaces_the_file_and_leaves_no_temporary()
    {
        var path = Path.Combine(_dir, "model.bin");
        File.WriteAllText(path, "old");
        AtomicFile.Write(path, temp =>
        {
            Assert.Equal(_dir, Path.GetDirectoryName(temp));
            Assert.EndsWith(".bin", temp, StringComparison.Ordinal);
            File.WriteAllText(temp, "new");
        });
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void A_failing_writer_leaves_the_old_file_intact_and_no_temporary()
    {
        var path = Path.Combine(_dir, "model.bin");
        File.WriteAllText(path, "old");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, temp =>
        {
            File.WriteAllText(temp, "half");
            throw new IOException("disk full");
        }));
        Assert.Equal("disk full", e.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void A_writer_that_creates_nothing_is_an_error()
    {
        var path = Path.Combine(_dir, "sub", "x.txt");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, _ => { }));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "sub")));
    }

    [Fact]
    public void Temporaries_left_by_a_killed_writer_are_removed_and_nothing_else()
    {
        var keep = new[] { "last.ckpt", ".hidden", "notes.tmp", ".last.ckpt.tmp" }.Select(n => Path.Combine(_dir, n)).ToList();
        foreach (var file in keep) File.WriteAllText(file, "keep");
        // What interrupted AtomicFile.Write and Checkpoint.Save calls leave behind: temporary files and a scratch directory.
        var scratch = AtomicFile.CreateScratchDirectory(Path.Combine(_dir, "last.ckpt"));
        File.WriteAllText(Path.Combine(scratch, "model.pt"), "part");
        var stale = new[] { $".metrics.{Guid.NewGuid():N}.tmp.csv", $".last.{Guid.NewGuid():N}.tmp.ckpt" }.Select(n => Path.Combine(_dir, n)).ToList();
        foreach (var file in stale) File.WriteAllText(file, "half written");

        Assert.Equal(3, AtomicFile.RemoveStaleTemporaries(_dir));
        Assert.False(Directory.Exists(scratch));
        Assert.All(stale, f => Assert.False(File.Exists(f), f));
        Assert.All(keep, f => Assert.True(File.Exists(f), f));
    }
}
