using System.Security.Cryptography;
using Ips.Data.Traffic;

namespace Ips.Tests.Data.Traffic;

/// <summary>Fetching the STS layout from a local HTTP server: resume, checksums, atomic layout, no second download.</summary>
public sealed class TrafficFetcherTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>A generated data set served in the official tree: two archives and two annotation files.</summary>
    private Dictionary<string, byte[]> ServedFiles()
    {
        var source = Path.Combine(_files.Root, "source");
        StsTestData.Write(source, perClass: 2, width: 64, height: 48);
        return new Dictionary<string, byte[]>
        {
            ["/Set1/Set1Part0.zip"] = StsTestData.ZipImages(source, "Set1"),
            ["/Set1/annotations.txt"] = File.ReadAllBytes(Path.Combine(source, "Set1", "annotations.txt")),
            ["/Set2/Set2Part0.zip"] = StsTestData.ZipImages(source, "Set2"),
            ["/Set2/annotations.txt"] = File.ReadAllBytes(Path.Combine(source, "Set2", "annotations.txt")),
        };
    }

    private static string Md5(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));

    [Fact]
    public async Task DownloadResumesAfterADroppedConnectionAndLaysTheSetOut()
    {
        var served = ServedFiles();
        using var server = new LocalHttpServer(served, dropOnce: ["/Set1/Set1Part0.zip"]);
        using var client = new HttpClient();
        var target = Path.Combine(_files.Root, "dsets");
        var md5 = TrafficFetcher.ChecksumsFor(server.BaseUrl, new Dictionary<string, string>
        {
            ["Set1/annotations.txt"] = Md5(served["/Set1/annotations.txt"]),
            ["Set2/annotations.txt"] = Md5(served["/Set2/annotations.txt"]),
        }, verify: true);
        Assert.Equal(2, md5.Count);

        var progress = new List<DownloadProgress>();
        Assert.True(await TrafficFetcher.EnsureAvailableAsync(target, server.BaseUrl, md5, client, new Recorder(progress)));

        // The dropped archive was asked for again from where the first response stopped.
        var archiveRequests = server.Requests.Where(r => r.StartsWith("GET /Set1/Set1Part0.zip", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, archiveRequests.Count);
        Assert.Equal($"GET /Set1/Set1Part0.zip bytes={served["/Set1/Set1Part0.zip"].Length / 2}-", archiveRequests[1]);
        Assert.Equal(served["/Set1/Set1Part0.zip"], File.ReadAllBytes(Path.Combine(target, "Set1", "Set1Part0.zip")));
        Assert.Contains(progress, p => p.File == "Set1/Set1Part0.zip" && p.Received == p.Total);
        Assert.False(Directory.Exists(target + ".partial"));
        Assert.Equal(10, Directory.GetFiles(Path.Combine(target, "Set1"), "*.jpg").Length);
        Assert.Equal(8, new TrafficSignsDataset(target, train: true, TrafficTestConfig.Scaled(target)).Count);

        // Complete now: a second call downloads nothing.
        var before = server.Requests.Count;
        Assert.False(await TrafficFetcher.EnsureAvailableAsync(target, server.BaseUrl, md5, client));
        Assert.Equal(before, server.Requests.Count);
    }

    [Fact]
    public async Task AChecksumFailureNamesTheFileAndLeavesNothingHalfWritten()
    {
        using var server = new LocalHttpServer(ServedFiles());
        using var client = new HttpClient();
        var target = Path.Combine(_files.Root, "dsets");
        var md5 = TrafficFetcher.ChecksumsFor(server.BaseUrl, new Dictionary<string, string> { ["Set2/annotations.txt"] = new string('0', 32) }, verify: true);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => TrafficFetcher.EnsureAvailableAsync(target, server.BaseUrl, md5, client));
        Assert.Contains($"{server.BaseUrl}/Set2/annotations.txt", error.Message);
        Assert.Contains("does not match the expected 00000000000000000000000000000000", error.Message);
        Assert.False(Directory.Exists(target));
        Assert.False(File.Exists(Path.Combine(target + ".partial", "Set2", "annotations.txt")));

        // Without verification the same server gives a complete set, reusing the files already downloaded.
        var before = server.Requests.Count;
        Assert.True(await TrafficFetcher.EnsureAvailableAsync(target, server.BaseUrl, TrafficFetcher.ChecksumsFor(server.BaseUrl, new Dictionary<string, string>(), verify: false), client));
        Assert.Equal(["GET /Set2/annotations.txt"], server.Requests.Skip(before));
    }

    [Fact]
    public void OfficialChecksumsApplyToTheOfficialBaseOnly()
    {
        var none = new Dictionary<string, string>();
        Assert.Equal(TrafficFetcher.OfficialMd5, TrafficFetcher.ChecksumsFor(TrafficFetcher.DefaultBaseUrl, none, verify: true));
        Assert.Empty(TrafficFetcher.ChecksumsFor("http://mirror.example/sts", none, verify: true));
        Assert.Empty(TrafficFetcher.ChecksumsFor(TrafficFetcher.DefaultBaseUrl, none, verify: false));
        var bad = Assert.Throws<ArgumentException>(() => TrafficFetcher.ChecksumsFor("http://m", new Dictionary<string, string> { ["Set3/x"] = new string('a', 32) }, true));
        Assert.Contains("--md5 Set3/x", bad.Message);
    }

    [Fact]
    public void AUserFolderWithTheArchivesIsExtractedInPlaceAndOneWithMissingImagesIsRejected()
    {
        var served = ServedFiles();
        var user = Path.Combine(_files.Root, "user");
        foreach (var (path, bytes) in served)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(user, path.TrimStart('/')))!);
            File.WriteAllBytes(Path.Combine(user, path.TrimStart('/')), bytes);
        }
        Assert.True(TrafficFetcher.IsComplete(user, new Dictionary<string, string>()));
        Assert.Equal(10, Directory.GetFiles(Path.Combine(user, "Set2"), "*.jpg").Length);

        File.Delete(Path.Combine(user, "Set2", "Set2Part0.zip"));
        File.Delete(Path.Combine(user, "Set2", "00003.jpg"));
        var error = Assert.Throws<InvalidDataException>(() => TrafficFetcher.IsComplete(user, new Dictionary<string, string>()));
        Assert.Contains("00003.jpg", error.Message);
        Assert.Contains(Path.Combine(user, "Set2"), error.Message);
    }

    private sealed class Recorder(List<DownloadProgress> list) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => list.Add(value);
    }
}
