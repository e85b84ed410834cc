using Ips.Training;

namespace Ips.Tests.Training;

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
}
