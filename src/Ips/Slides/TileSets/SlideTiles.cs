using System.Globalization;
using Ips.Slides.Tiling;
using static TorchSharp.torch;

namespace Ips.Slides.TileSets;

/// <summary>
/// The tiles of one slide that a tile coordinates file lists (the CLAM/TRIDENT layout of <see cref="TileCoordsFile"/>:
/// level-0 corners, <c>patch_level</c>, <c>patch_size</c>, or the resolution of tiles cut at one), read from the slide
/// region by region on demand as <see cref="TileCoordsInfo.Sampling"/> says.
/// </summary>
public sealed class SlideTiles : ITileSet
{
    private readonly ISlide _slide;
    private readonly TileCoords _coords;
    private readonly TileSampling _sampling;

    /// <summary>Reads <paramref name="coordsPath"/> and opens <paramref name="slidePath"/> (TIFF reader or OpenSlide).</summary>
    public SlideTiles(string coordsPath, string slidePath)
    {
        _coords = TileCoordsFile.Read(coordsPath);
        _slide = SlideOpener.Open(slidePath);
        try
        {
            _sampling = _coords.Info.Sampling(_slide);
        }
        catch (ArgumentException error)
        {
            _slide.Dispose();
            throw new InvalidDataException($"{coordsPath}: {error.Message}; is {slidePath} the slide these tiles were cut from?", error);
        }
    }

    /// <inheritdoc />
    public int Count => _coords.Count;

    /// <inheritdoc />
    public Tensor Load(int index)
    {
        var size = _sampling.TileSize;
        var rgb = _sampling.Read(_slide, _coords.Coords[index, 0], _coords.Coords[index, 1]);
        using var scope = NewDisposeScope();
        return tensor(rgb, [size, size, 3]).permute(2, 0, 1).to(ScalarType.Float32).div(255).MoveToOuterDisposeScope(); // [3, S, S]
    }

    /// <inheritdoc />
    public string Describe(int index) => string.Create(CultureInfo.InvariantCulture,
        $"{_slide.Path} tile {index} at ({_coords.Coords[index, 0]}, {_coords.Coords[index, 1]})");

    /// <inheritdoc />
    public void Dispose() => _slide.Dispose();
}
