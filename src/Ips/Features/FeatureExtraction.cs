using Ips.Encoders;
using Ips.IO;
using Ips.Slides.TileSets;
using Ips.Slides.Tiling;
using static TorchSharp.torch;

namespace Ips.Features;

/// <summary>What happened to one slide of a feature-extraction run.</summary>
/// <param name="Slide">The slide's name.</param>
/// <param name="Skipped">True when its feature file already existed (a rerun).</param>
/// <param name="Tiles">Tiles embedded (0 when skipped).</param>
/// <param name="Seconds">Wall time spent on it.</param>
/// <param name="BusyWith">Who holds the slide's lock when another process is embedding it now (then nothing was done).</param>
public sealed record SlideFeaturesResult(string Slide, bool Skipped, int Tiles, double Seconds, string? BusyWith = null);

/// <summary>
/// Embeds the kept tiles of slides (the coordinates <c>ips slides tile</c> wrote) with a frozen <see cref="TileEncoder"/>
/// and writes one CLAM/TRIDENT file per slide (<c>features</c> <c>[N, D]</c>, <c>coords</c> <c>[N, 2]</c>). Tiles of the
/// next batch are decoded by loader threads while the encoder runs on the current one; each slide's file is written
/// to a temporary name and renamed when complete, so a rerun skips finished slides and redoes an interrupted one.
/// A slide is embedded under its lock (<see cref="OutputLock"/>, <c>.NAME.lock</c> in the output folder), so several
/// processes may share the folder: a slide another process is embedding is left to it.
/// </summary>
public static class FeatureExtraction
{
    /// <summary>The feature file of <paramref name="slidePath"/> in <paramref name="outDirectory"/>: <c>NAME.h5</c>.</summary>
    public static string OutputPath(string outDirectory, string slidePath) =>
        Path.Combine(outDirectory, SlideTilingJob.Name(slidePath) + ".h5");

    /// <summary>
    /// Embeds one slide unless its output exists or another process holds its lock (<see cref="SlideFeaturesResult.BusyWith"/>).
    /// <paramref name="tilesDone"/> receives the slide's tiles embedded so far.
    /// </summary>
    /// <exception cref="FileNotFoundException">The slide's coordinates file is missing.</exception>
    public static SlideFeaturesResult ExtractSlide(
        string slidePath, string coordsDirectory, string outDirectory, TileEncoder encoder, int batchSize, int workers, bool gzip,
        IProgress<int>? tilesDone = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var name = SlideTilingJob.Name(slidePath);
        var output = OutputPath(outDirectory, slidePath);
        if (File.Exists(output))
        {
            return new SlideFeaturesResult(name, Skipped: true, 0, 0);
        }
        var coordsPath = SlideTilingJob.CoordsPath(coordsDirectory, slidePath);
        if (!File.Exists(coordsPath))
        {
            throw new FileNotFoundException($"{slidePath}: no tile coordinates {coordsPath}; run `ips slides tile` first", coordsPath);
        }
        Directory.CreateDirectory(outDirectory);
        using var claim = OutputLock.TryAcquire(OutputLock.PathFor(outDirectory, name), out var holder);
        if (claim is null)
        {
            return new SlideFeaturesResult(name, Skipped: true, 0, 0, BusyWith: holder);
        }
        // Another process may have finished the slide between the check above and taking the lock.
        if (File.Exists(output))
        {
            return new SlideFeaturesResult(name, Skipped: true, 0, 0);
        }
        SlideTilingJob.RemoveStaleTemporaries(outDirectory, name);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var coords = TileCoordsFile.Read(coordsPath);
        if (coords.Count == 0)
        {
            throw new InvalidDataException($"{coordsPath}: the slide has no tissue tiles, so there is nothing to embed");
        }
        var corners = new long[coords.Count, 2];
        for (var i = 0; i < coords.Count; i++)
        {
            (corners[i, 0], corners[i, 1]) = (coords.Coords[i, 0], coords.Coords[i, 1]);
        }
        var attributes = new Dictionary<string, object>
        {
            ["patch_level"] = coords.Info.PatchLevel,
            ["patch_size"] = coords.Info.PatchSize,
            ["encoder_normalisation"] = encoder.Normalisation,
        };
        using var tiles = new SlideTiles(coordsPath, slidePath);
        // Tiles of the next batches are decoded on the loader threads while the encoder runs on the current one.
        using var batches = new PrefetchPipeline<Tensor, Tensor>(
            tiles.Count, batchSize, tiles.Load, (_, decoded) => StackOwned(decoded), batch => batch.Dispose(), workers, capacity: 2, cancel);
        Hdf5FeatureWriter.WriteSlideFile(output, corners, encoder.OutputDim, gzip, attributes, write =>
        {
            var done = 0;
            foreach (var batch in batches.Batches())
            {
                using (batch)
                using (var features = encoder.Encode(batch))
                {
                    write(done, features);
                    done += (int)batch.shape[0];
                }
                tilesDone?.Report(done);
            }
            // A stop during the last batch drops the slide too: the temporary file is removed instead of renamed.
            cancel.ThrowIfCancellationRequested();
        });
        return new SlideFeaturesResult(name, Skipped: false, coords.Count, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The tiles as one batch <c>[b, 3, S, S]</c>; the tiles themselves are disposed.</summary>
    private static Tensor StackOwned(Tensor[] tiles)
    {
        try
        {
            return stack(tiles);
        }
        finally
        {
            foreach (var tile in tiles)
            {
                tile.Dispose();
            }
        }
    }
}
