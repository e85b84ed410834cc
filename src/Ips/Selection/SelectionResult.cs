using static TorchSharp.torch;

namespace Ips.Selection;

/// <summary>
/// What Iterative Patch Selection hands to the forward pass: the M selected patches of every image, their positional
/// encodings and original indices, and their final scores. Owns its tensors.
/// </summary>
public sealed class SelectionResult : IDisposable
{
    /// <summary>Creates a result that owns the given tensors.</summary>
    public SelectionResult(Tensor patches, Tensor? positionalEncoding, Tensor indices, Tensor? scores)
    {
        Patches = patches;
        PositionalEncoding = positionalEncoding;
        Indices = indices;
        Scores = scores;
    }

    /// <summary>The selected patches <c>[B, M, *patchShape]</c> on the device, without gradient history.</summary>
    public Tensor Patches { get; }

    /// <summary>Their positional encodings <c>[B, M, D]</c>, or null when <c>use_pos</c> is off.</summary>
    public Tensor? PositionalEncoding { get; }

    /// <summary>Their original patch indices <c>[B, M]</c>, int64, ordered by descending score (ascending when IPS was skipped).</summary>
    public Tensor Indices { get; }

    /// <summary>Their scores in the last selection step <c>[B, M]</c>; null when IPS was skipped (M &gt;= N).</summary>
    public Tensor? Scores { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Patches.Dispose();
        PositionalEncoding?.Dispose();
        Indices.Dispose();
        Scores?.Dispose();
    }
}
