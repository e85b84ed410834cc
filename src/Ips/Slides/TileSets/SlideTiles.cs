using System.Globalization;
using Ips.Slides.Tiling;
using static TorchSharp.torch;

namespace Ips.Slides.TileSets;

/// <summary>
/// The tiles of one slide that a tile coordinates file lists (the CLAM/TRIDENT layout of <see cref="TileCoordsFile"/>:
/// level-0 corners, <c>patch_level</c>, <c>patch_size</c>), read from the slide region by region on demand.
/// </summary>
public sealed class SlideTiles : ITileSet
{
    private readonly ISlide _slide;
    private readonly TileCoords _coords;

    /// <summary>Reads <paramref name="coordsPath"/> and opens <paramref name="slidePath"/> (TIFF reader or OpenSlide).</summary>
    public SlideTiles(string coordsPath, string slidePath)
    {
        _coords = TileCoordsFile.Read(coordsPath);
        _slide = SlideOpener.Open(slidePath);
        if (_coords.Info.PatchLevel >= _slide.Levels.Count)
        {
            _slide.Dispose();
            throw new InvalidDataException(
                $"{coordsPath}: patch_level {_coords.Info.PatchLevel} but {slidePath} has {_slide.Levels.Count} levels; is it the slide these tiles were cut from?");
        }
    }

    /// <inheritdoc />
    public int Count => _coords.Count;

    /// <inheritdoc />
    public Tensor Load(int index)
    {
        var size = _coords.Info.PatchSize;
        var rgb = _slide.ReadRegion(_coords.Info.PatchLevel, _coords.Coords[index, 0], _coords.Coords[index, 1], size, size);
        using var scope = NewDisposeScope();
        return tensor(rgb, [size, size, 3]).permute(2, 0, 1).to(ScalarType.Float32).div(255).MoveToOuterDisposeScope(); // [3, S, S]
    }

    /// <inheritdoc />
    public string Describe(int index) => string.Create(CultureInfo.InvariantCulture,
        $"{_slide.Path} tile {index} at ({_coords.Coords[index, 0]}, {_coords.Coords[index, 1]})");

    /// <inheritdoc />
    public void Dispose() => _slide.Dispose();
}
