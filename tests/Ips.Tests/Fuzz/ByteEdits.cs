namespace Ips.Tests.Fuzz;

/// <summary>Edits of real files into hostile ones: a header's numbers replaced where they are found.</summary>
internal static class ByteEdits
{
    /// <summary>Replaces every occurrence of <paramref name="pattern"/> by <paramref name="replacement"/> (as long) and
    /// returns how many there were, so that a test can check it changed what it meant to.</summary>
    public static int ReplaceAll(byte[] bytes, byte[] pattern, byte[] replacement)
    {
        var count = 0;
        for (var at = bytes.AsSpan().IndexOf(pattern); at >= 0; at = bytes.AsSpan().IndexOf(pattern))
        {
            replacement.CopyTo(bytes, at);
            count++;
        }
        return count;
    }
}
