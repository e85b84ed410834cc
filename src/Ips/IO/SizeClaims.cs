namespace Ips.IO;

/// <summary>Arithmetic on sizes read from a file's header, which may be anything.</summary>
internal static class SizeClaims
{
    /// <summary>
    /// The product of <paramref name="factors"/>, or <see cref="UInt128.MaxValue"/> when it does not fit: a damaged
    /// header can list dozens of 64-bit dimensions, and a product that wrapped around would pass as small.
    /// </summary>
    public static UInt128 Product(IEnumerable<ulong> factors)
    {
        var list = factors.ToList();
        if (list.Contains(0UL))
        {
            return 0;
        }
        UInt128 product = 1;
        foreach (var factor in list)
        {
            if (product > UInt128.MaxValue / factor)
            {
                return UInt128.MaxValue;
            }
            product *= factor;
        }
        return product;
    }
}
