using Ips.Encoders;
using Ips.Patches;
using static TorchSharp.torch;

namespace Ips.Features;

/// <summary>
/// An image source seen through a frozen encoder (docs/design.md section 6): <see cref="Read"/> and
/// <see cref="Gather"/> return the encoder's features of those tiles, <c>[k, D]</c>, computed on demand in batches of
/// at most <see cref="BatchSize"/> tiles. IPS on a features config then runs on a slide with no pre-extraction step and
/// with memory bounded by <c>I</c> and the batch size, never by the slide's size; its result equals IPS on
/// pre-extracted features of the same tiles.
/// </summary>
/// <param name="tiles">Tiles <c>[3, H, W]</c> in [0, 1] (a slide's tile source, or any image source); owned and disposed.</param>
/// <param name="encoder">The frozen encoder; not owned (several slides share one).</param>
/// <param name="batchSize">Tiles encoded at once.</param>
public sealed class EncodedPatchSource(IPatchSource tiles, TileEncoder encoder, int batchSize = 64) : IPatchSource
{
    /// <summary>Tiles encoded at once.</summary>
    public int BatchSize { get; } = batchSize > 0 ? batchSize : throw new ArgumentOutOfRangeException(nameof(batchSize), "the batch size must be positive");

    /// <inheritdoc />
    public int Count => tiles.Count;

    /// <inheritdoc />
    public long[] PatchShape => [encoder.OutputDim];

    /// <summary>Always the CPU, where the encoder hands its features back.</summary>
    public Device Device => CPU;

    /// <inheritdoc />
    public Tensor Read(int start, int count)
    {
        if (count == 0)
        {
            return empty([0, encoder.OutputDim]);
        }
        var parts = new List<Tensor>();
        try
        {
            for (var at = start; at < start + count; at += BatchSize)
            {
                using var batch = tiles.Read(at, Math.Min(BatchSize, start + count - at)); // [b, 3, H, W]
                parts.Add(encoder.Encode(batch));
            }
            return parts.Count == 1 ? parts[0].alias() : cat(parts, 0); // [count, D]
        }
        finally
        {
            parts.ForEach(part => part.Dispose());
        }
    }

    /// <inheritdoc />
    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        if (indices.Length == 0)
        {
            return empty([0, encoder.OutputDim]);
        }
        var parts = new List<Tensor>();
        try
        {
            for (var at = 0; at < indices.Length; at += BatchSize)
            {
                using var batch = tiles.Gather(indices.Slice(at, Math.Min(BatchSize, indices.Length - at))); // [b, 3, H, W]
                parts.Add(encoder.Encode(batch));
            }
            return parts.Count == 1 ? parts[0].alias() : cat(parts, 0); // [k, D]
        }
        finally
        {
            parts.ForEach(part => part.Dispose());
        }
    }

    /// <inheritdoc />
    public void Dispose() => tiles.Dispose();
}
