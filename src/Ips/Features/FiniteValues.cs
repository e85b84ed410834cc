using System.Numerics;
using System.Runtime.InteropServices;

namespace Ips.Features;

/// <summary>
/// The check every feature reader makes on the rows it reads: a NaN or infinity caught there, on the way to pack,
/// train, evaluate or predict, is one message naming the file and row, instead of a NaN loss (or a libtorch error)
/// epochs later or a score that means nothing.
/// </summary>
public static class FiniteValues
{
    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1 when all are finite.</summary>
    public static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        // x - x is 0 for a finite x and NaN for NaN or infinity: one vector pass, the scalar search only on a hit.
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
        var sum = Vector<float>.Zero;
        foreach (var vector in vectors)
        {
            sum += vector - vector;
        }
        var tail = values[(vectors.Length * Vector<float>.Count)..];
        var finiteTail = true;
        foreach (var value in tail)
        {
            finiteTail &= float.IsFinite(value);
        }
        if (finiteTail && Vector.EqualsAll(sum, Vector<float>.Zero))
        {
            return -1;
        }
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }
        return -1;
    }
}
