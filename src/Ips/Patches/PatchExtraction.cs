using System.Globalization;
using static TorchSharp.torch;

namespace Ips.Patches;

/// <summary>
/// docs/design.md section 1: an image <c>[C, H, W]</c> becomes <c>N</c> patches <c>[N, C, ph, pw]</c> by a sliding window of
/// <c>patch_size</c> moved by <c>patch_stride</c>, row of patches first, then column.
/// </summary>
public static class PatchExtraction
{
    /// <summary>
    /// All patches of <paramref name="image"/> <c>[C, H, W]</c> laid out by <paramref name="grid"/>:
    /// <c>[N, C, ph, pw]</c> on the image's device. The windows are <c>unfold</c> views; the result is the one
    /// contiguous copy that overlapping windows require.
    /// </summary>
    public static Tensor Extract(Tensor image, PatchGrid grid)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(grid);
        CheckImageMatchesGrid(image, grid);
        using var rows = image.unfold(1, grid.PatchHeight, grid.StrideY);     // [C, R, W, ph]
        using var windows = rows.unfold(2, grid.PatchWidth, grid.StrideX);   // [C, R, Q, ph, pw]
        using var ordered = windows.permute(1, 2, 0, 3, 4);                  // [R, Q, C, ph, pw]
        return ordered.reshape(grid.Count, image.shape[0], grid.PatchHeight, grid.PatchWidth);
    }

    /// <summary>
    /// The grid of a <paramref name="height"/> x <paramref name="width"/> image for the config's
    /// <c>patch_size</c> and <c>patch_stride</c> (each <c>[height, width]</c>), checked against the config's
    /// <c>N</c> when given. Throws <see cref="ArgumentException"/> naming <paramref name="configName"/> when the
    /// sizes are not positive, the patch is larger than the image, the window would silently drop pixels at the
    /// bottom or right edge, or <c>N</c> disagrees with the grid.
    /// </summary>
    public static PatchGrid GridFor(int height, int width, int[] patchSize, int[] patchStride, int? expectedN, string configName)
    {
        string where = $"config {configName}";
        int[] size = Pair(patchSize, "patch_size", where);
        int[] stride = Pair(patchStride, "patch_stride", where);
        if (height <= 0 || width <= 0)
        {
            throw new ArgumentException($"{where}: the image size {width} x {height} (width x height) must be positive");
        }

        // Sizes of images are given as width x height, as image tools show them; patch_size keeps the config's [h, w].
        string image = $"{width} x {height} (width x height) image";
        if (size[0] > height || size[1] > width)
        {
            throw new ArgumentException(
                $"{where}: patch_size [{size[0]}, {size[1]}] (height, width) is larger than the {image}");
        }

        CheckCovered(height, size[0], stride[0], "height", "rows at the bottom", where, image);
        CheckCovered(width, size[1], stride[1], "width", "columns at the right", where, image);

        var grid = new PatchGrid(height, width, size[0], size[1], stride[0], stride[1]);
        if (expectedN is { } n && n != grid.Count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{where}: N ({n}) does not match the patch grid of a {image} with patch {size[0]}x{size[1]}, " +
                $"stride {stride[0]}x{stride[1]} ({grid.Rows} x {grid.Cols} = {grid.Count} patches)"));
        }

        return grid;
    }

    internal static void CheckImageMatchesGrid(Tensor image, PatchGrid grid)
    {
        if (image.dim() != 3 || image.shape[1] != grid.ImageHeight || image.shape[2] != grid.ImageWidth)
        {
            throw new ArgumentException(
                $"expected an image [C, {grid.ImageHeight}, {grid.ImageWidth}] for this patch grid, " +
                $"got [{string.Join(", ", image.shape)}]", nameof(image));
        }
    }

    private static int[] Pair(int[] values, string key, string where)
    {
        if (values is not { Length: 2 })
        {
            throw new ArgumentException(
                $"{where}: {key} must be [height, width], got [{string.Join(", ", values ?? [])}]");
        }

        if (values[0] <= 0 || values[1] <= 0)
        {
            throw new ArgumentException($"{where}: {key} [{values[0]}, {values[1]}] must be positive");
        }

        return values;
    }

    private static void CheckCovered(int extent, int size, int stride, string axis, string lost, string where, string image)
    {
        int rest = (extent - size) % stride;
        if (rest != 0)
        {
            throw new ArgumentException(
                $"{where}: the {image} is not covered by patches of {axis} {size} every {stride} pixels: " +
                $"({extent} - {size}) is not a multiple of {stride}, so the last {rest} {lost} would be silently " +
                "dropped; choose a patch_size/patch_stride that tiles the image or pad the image");
        }
    }
}
