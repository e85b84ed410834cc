using System.Globalization;
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
/// <param name="FailedBefore">Why a slide whose failure is recorded (<see cref="FailureRecord"/>) was not tried again (then nothing was done).</param>
public sealed record SlideFeaturesResult(string Slide, bool Skipped, int Tiles, double Seconds, string? BusyWith = null, string? FailedBefore = null);

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
    /// Why the existing feature file of <paramref name="slidePath"/> in <paramref name="outDirectory"/> cannot be kept for
    /// <paramref name="encoder"/> and the slide's coordinates (another encoder, other tiling, or no record of either), or
    /// null when there is no such file or it can be kept.
    /// </summary>
    /// <exception cref="FileNotFoundException">The slide's coordinates file is missing.</exception>
    public static string? Conflict(string slidePath, string coordsDirectory, string outDirectory, EncoderIdentity encoder)
    {
        var output = OutputPath(outDirectory, slidePath);
        if (!File.Exists(output))
        {
            return null;
        }
        var expected = FeatureProvenance.Of(slidePath, ReadCoords(slidePath, coordsDirectory).Info, encoder);
        return FeatureProvenance.Conflict(output, FeatureProvenance.Read(output), expected);
    }

    /// <summary>
    /// Embeds one slide unless its output exists and records the same encoder and tiling, or another process holds its
    /// lock (<see cref="SlideFeaturesResult.BusyWith"/>). An output that records
    /// others (or nothing) is refused with <see cref="InvalidDataException"/>, or redone when <paramref name="overwrite"/>.
    /// <paramref name="tilesDone"/> receives the slide's tiles embedded so far. A failure of the slide is recorded in
    /// <c>NAME.failed</c> (<see cref="FailureRecord"/>) before it propagates; a slide with such a record is tried again
    /// only as <paramref name="failures"/> says (by default every failure of an earlier run is), otherwise
    /// <see cref="SlideFeaturesResult.FailedBefore"/> tells why not.
    /// </summary>
    /// <exception cref="FileNotFoundException">The slide's coordinates file is missing.</exception>
    /// <exception cref="InvalidDataException">
    /// The existing output holds other features, or the encoder gives NaN or infinity for a tile (then nothing is written).
    /// </exception>
    public static SlideFeaturesResult ExtractSlide(
        string slidePath, string coordsDirectory, string outDirectory, TileEncoder encoder, int batchSize, int workers, bool gzip,
        bool overwrite = false, IProgress<int>? tilesDone = null, CancellationToken cancel = default, FailureRetry? failures = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var name = SlideTilingJob.Name(slidePath);
        var output = OutputPath(outDirectory, slidePath);
        if (File.Exists(output))
        {
            if (Conflict(slidePath, coordsDirectory, outDirectory, encoder.Identity) is not { } conflict)
            {
                return new SlideFeaturesResult(name, Skipped: true, 0, 0);
            }
            if (!overwrite)
            {
                throw new InvalidDataException(conflict);
            }
        }
        Directory.CreateDirectory(outDirectory);
        using var claim = OutputLock.TryAcquire(OutputLock.PathFor(outDirectory, name), out var holder);
        if (claim is null)
        {
            return new SlideFeaturesResult(name, Skipped: true, 0, 0, BusyWith: holder);
        }
        // Another process may have finished the slide, with these features, between the check above and the lock.
        if (File.Exists(output) && Conflict(slidePath, coordsDirectory, outDirectory, encoder.Identity) is null)
        {
            return new SlideFeaturesResult(name, Skipped: true, 0, 0);
        }
        if (FailureRecord.Read(outDirectory, name) is { } failure
            && (failures ?? new FailureRetry(true, DateTime.UtcNow)).WhyNotRetried(failure) is { } why)
        {
            return new SlideFeaturesResult(name, Skipped: true, 0, 0, FailedBefore: $"{Path.GetFileName(slidePath)}: {why}");
        }
        SlideTilingJob.RemoveStaleTemporaries(outDirectory, name);
        try
        {
            var result = Embed(slidePath, coordsDirectory, output, encoder, batchSize, workers, gzip, tilesDone, cancel);
            FailureRecord.Clear(outDirectory, name);
            return result;
        }
        catch (Exception error) when (error is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Recorded while the lock is still held, so no other process retries the slide in between.
            FailureRecord.Write(outDirectory, name, error.Message);
            throw;
        }
    }

    private static SlideFeaturesResult Embed(
        string slidePath, string coordsDirectory, string output, TileEncoder encoder, int batchSize, int workers, bool gzip,
        IProgress<int>? tilesDone, CancellationToken cancel)
    {
        var name = SlideTilingJob.Name(slidePath);
        var coordsPath = SlideTilingJob.CoordsPath(coordsDirectory, slidePath);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var coords = ReadCoords(slidePath, coordsDirectory);
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
        // TRIDENT's readers find the resolution of tiles cut at one on the coordinates.
        foreach (var (attribute, value) in FeatureProvenance.ResolutionAttributes(coords.Info))
        {
            attributes[attribute] = value;
        }
        var provenance = FeatureProvenance.Of(slidePath, coords.Info, encoder.Identity).Attributes();
        using var tiles = new SlideTiles(coordsPath, slidePath);
        // Tiles of the next batches are decoded on the loader threads while the encoder runs on the current one.
        using var batches = new PrefetchPipeline<Tensor, Tensor>(
            tiles.Count, batchSize, tiles.Load, (_, decoded) => StackOwned(decoded), batch => batch.Dispose(), workers, capacity: 2, cancel);
        Hdf5FeatureWriter.WriteSlideFile(output, corners, encoder.OutputDim, gzip, attributes, provenance, write =>
        {
            var done = 0;
            foreach (var batch in batches.Batches())
            {
                using (batch)
                using (var features = encoder.Encode(batch))
                {
                    CheckFinite(features, done, corners, slidePath, encoder.Identity);
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

    private static TileCoords ReadCoords(string slidePath, string coordsDirectory)
    {
        var coordsPath = SlideTilingJob.CoordsPath(coordsDirectory, slidePath);
        if (!File.Exists(coordsPath))
        {
            throw new FileNotFoundException($"{slidePath}: no tile coordinates {coordsPath}; run `ips slides tile` first", coordsPath);
        }
        return TileCoordsFile.Read(coordsPath);
    }

    // Non-finite features would be packed, trained on and predicted from without a word (a NaN loss an epoch later at
    // best), so the slide fails here, at the tile that gave them.
    private static void CheckFinite(Tensor features, int firstRow, long[,] corners, string slidePath, EncoderIdentity encoder)
    {
        using var scope = NewDisposeScope();
        var bad = features.isfinite().logical_not().any(1).nonzero(); // [k, 1] rows with a NaN or infinity
        if (bad.shape[0] == 0)
        {
            return;
        }
        var row = firstRow + (int)bad[0, 0].item<long>();
        throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
            $"{slidePath}: encoder {encoder.Name} gives NaN or infinite features for the tile at level-0 x={corners[row, 0]}, y={corners[row, 1]} (tile {row} of {corners.GetLength(0)}); no feature file was written for this slide"));
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
