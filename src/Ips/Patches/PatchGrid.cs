namespace Ips.Patches;

/// <summary>A pixel rectangle: left/top corner and size.</summary>
public readonly record struct PixelBox(int X, int Y, int Width, int Height);

/// <summary>
/// The sliding-window layout of docs/design.md section 1: patches of <c>PatchHeight x PatchWidth</c> taken every
/// <c>StrideY, StrideX</c> pixels, ordered row-major. Maps a patch index to its pixel box.
/// </summary>
public sealed record PatchGrid(int ImageHeight, int ImageWidth, int PatchHeight, int PatchWidth, int StrideY, int StrideX)
{
    /// <summary>Patch rows: <c>(H - ph) / sy + 1</c>.</summary>
    public int Rows => (ImageHeight - PatchHeight) / StrideY + 1;

    /// <summary>Patch columns: <c>(W - pw) / sx + 1</c>.</summary>
    public int Cols => (ImageWidth - PatchWidth) / StrideX + 1;

    /// <summary>Number of patches, N.</summary>
    public int Count => Rows * Cols;

    /// <summary>The pixel box of patch <paramref name="index"/> (row-major).</summary>
    public PixelBox Box(long index) =>
        new((int)(index % Cols) * StrideX, (int)(index / Cols) * StrideY, PatchWidth, PatchHeight);
}
