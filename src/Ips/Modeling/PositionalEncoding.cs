using static TorchSharp.torch;

namespace Ips.Modeling;

/// <summary>The standard 1-D sinusoidal positional encoding of docs/design.md section 2 (official <c>pos_enc_1d</c>).</summary>
public static class PositionalEncoding
{
    /// <summary>
    /// The table <c>[length, D]</c>: <c>pe[p, 2i] = sin(p * w_i)</c>, <c>pe[p, 2i+1] = cos(p * w_i)</c> with
    /// <c>w_i = exp(-2i * ln(10000) / D)</c>, computed in float32 like the official implementation.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="D"/> is odd or not positive, or <paramref name="length"/> is negative.</exception>
    public static Tensor Sinusoidal1d(int D, int length)
    {
        if (D <= 0 || D % 2 != 0)
        {
            throw new ArgumentException($"Sinusoidal positional encoding needs an even, positive width D (got D={D}).", nameof(D));
        }
        if (length < 0)
        {
            throw new ArgumentException($"Positional encoding length must be >= 0 (got {length}).", nameof(length));
        }

        using var scope = NewDisposeScope();
        var position = arange(length, dtype: float32).unsqueeze(1);                              // [length, 1]
        var divTerm = exp(arange(0, D, 2, dtype: float32) * (float)(-(Math.Log(10000.0) / D))); // [D/2]
        var angles = position * divTerm;                                                        // [length, D/2]
        // Interleave sin (even) and cos (odd) dimensions: stack on a last axis, then flatten it.
        var pe = stack(new[] { sin(angles), cos(angles) }, dim: -1).reshape(length, D);         // [length, D]
        return pe.contiguous().MoveToOuterDisposeScope();
    }
}
