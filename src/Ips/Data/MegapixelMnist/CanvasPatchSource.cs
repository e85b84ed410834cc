using Ips.Patches;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Data.MegapixelMnist;

/// <summary>
/// The patches of one rendered canvas <c>[C, H, W]</c>, cut by a sliding window (SPEC.md section 1) on demand:
/// the canvas is held once and each <see cref="Read"/>/<see cref="Gather"/> copies out only the patches asked for.
/// </summary>
internal sealed class CanvasPatchSource : IPatchSource
{
    private readonly Tensor _canvas;   // [C, H, W]
    private readonly Tensor _windows;  // [rows, cols, C, ph, pw], a strided view of the canvas
    private readonly PatchGrid _grid;

    /// <summary>Takes ownership of <paramref name="canvas"/>.</summary>
    public CanvasPatchSource(Tensor canvas, PatchGrid grid)
    {
        if (canvas.dim() != 3 || canvas.shape[1] != grid.ImageHeight || canvas.shape[2] != grid.ImageWidth)
        {
            throw new ArgumentException(
                $"canvas of shape [{string.Join(", ", canvas.shape)}] does not match the grid's {grid.ImageHeight}x{grid.ImageWidth} image.",
                nameof(canvas));
        }
        _canvas = canvas;
        _grid = grid;
        _windows = canvas.unfold(1, grid.PatchHeight, grid.StrideY).unfold(2, grid.PatchWidth, grid.StrideX).permute(1, 2, 0, 3, 4);
        PatchShape = [canvas.shape[0], grid.PatchHeight, grid.PatchWidth];
    }

    /// <inheritdoc />
    public int Count => _grid.Count;

    /// <inheritdoc />
    public long[] PatchShape { get; }

    /// <inheritdoc />
    public Device Device => _canvas.device;

    /// <inheritdoc />
    public Tensor Read(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"patches {start}..{start + count - 1} are outside 0..{Count - 1}.");
        }
        var indices = new long[count];
        for (var i = 0; i < count; i++)
        {
            indices[i] = start + i;
        }
        return Gather(indices);
    }

    /// <inheritdoc />
    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        var rows = new long[indices.Length];
        var cols = new long[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            if (indices[i] < 0 || indices[i] >= Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"patch index {indices[i]} is outside 0..{Count - 1}.");
            }
            rows[i] = indices[i] / _grid.Cols;
            cols[i] = indices[i] % _grid.Cols;
        }
        using var rowIndex = torch.tensor(rows, device: Device);
        using var colIndex = torch.tensor(cols, device: Device);
        // Advanced indexing on the two grid axes gathers whole windows: [k, C, ph, pw], a fresh contiguous tensor.
        return _windows.index(TensorIndex.Tensor(rowIndex), TensorIndex.Tensor(colIndex));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _windows.Dispose();
        _canvas.Dispose();
    }
}
