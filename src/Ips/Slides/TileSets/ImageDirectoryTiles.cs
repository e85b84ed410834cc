using Ips.Imaging;
using static TorchSharp.torch;

namespace Ips.Slides.TileSets;

/// <summary>The PNG/JPEG/TIFF tiles under a directory (recursively, in ordinal path order), read with <see cref="ImageFile"/>.</summary>
public sealed class ImageDirectoryTiles : ITileSet
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".tif", ".tiff"];
    private readonly string[] _files;

    /// <summary>Lists the tiles under <paramref name="directory"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public ImageDirectoryTiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"--tiles {directory}: no such directory.");
        }
        Root = directory;
        _files = [.. Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(file => Extensions.Contains(Path.GetExtension(file).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>The directory listed.</summary>
    public string Root { get; }

    /// <inheritdoc />
    public int Count => _files.Length;

    /// <inheritdoc />
    public Tensor Load(int index) => ImageFile.Load(_files[index], channels: 3);

    /// <inheritdoc />
    public string Describe(int index) => _files[index];

    /// <inheritdoc />
    public void Dispose()
    {
        // Files are opened per tile; nothing stays open.
    }
}
