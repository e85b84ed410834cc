using static TorchSharp.torch;

namespace Ips.Patches;

/// <summary>
/// Patches held in one tensor, on whatever device that tensor lives: the device for eager loading, host memory for
/// lazy loading. Either an image <c>[C, H, W]</c> with its <see cref="PatchGrid"/>, whose patches are cut out on each
/// read as views of the image and copied once (the <c>[N, C, ph, pw]</c> tensor is never built), or ready patches
/// <c>[N, *shape]</c> such as a feature matrix. The source owns its tensor and disposes it.
/// </summary>
public sealed class TensorPatchSource : IPatchSource
{
    private readonly Tensor _data;
    private readonly PatchGrid? _grid;
    private bool _disposed;

    private TensorPatchSource(Tensor data, PatchGrid? grid)
    {
        if (data.dtype != ScalarType.Float32)
        {
            throw new ArgumentException($"patch tensors must be float32, got {data.dtype}", nameof(data));
        }

        _data = data;
        _grid = grid;
        if (grid is null)
        {
            if (data.dim() < 1 || data.shape[0] > int.MaxValue)
            {
                throw new ArgumentException(
                    $"expected patches [N, *shape] with N <= {int.MaxValue}, got [{string.Join(", ", data.shape)}]", nameof(data));
            }

            Count = (int)data.shape[0];
            PatchShape = data.shape[1..];
        }
        else
        {
            PatchExtraction.CheckImageMatchesGrid(data, grid);
            Count = grid.Count;
            PatchShape = [data.shape[0], grid.PatchHeight, grid.PatchWidth];
        }
    }

    /// <summary>A source over the patches of <paramref name="image"/> <c>[C, H, W]</c>; takes ownership of it.</summary>
    public static TensorPatchSource FromImage(Tensor image, PatchGrid grid)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(grid);
        return new TensorPatchSource(image, grid);
    }

    /// <summary>A source over ready patches <c>[N, *shape]</c>; takes ownership of <paramref name="patches"/>.</summary>
    public static TensorPatchSource FromPatches(Tensor patches)
    {
        ArgumentNullException.ThrowIfNull(patches);
        return new TensorPatchSource(patches, null);
    }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public long[] PatchShape { get; }

    /// <inheritdoc />
    public Device Device => _data.device;

    /// <summary>The grid the patches are cut by; null for ready patches.</summary>
    public PatchGrid? Grid => _grid;

    /// <inheritdoc />
    public Tensor Read(int start, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (start < 0 || count < 0 || start > Count - count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(start), $"patches {start} .. {start + count - 1} are outside 0 .. {Count - 1}");
        }

        if (_grid is null)
        {
            using var slice = _data.narrow(0, start, count);
            return slice.clone();
        }

        return CutWindows(Enumerable.Range(start, count).Select(i => (long)i).ToArray());
    }

    /// <inheritdoc />
    public Tensor Gather(ReadOnlySpan<long> indices)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (long index in indices)
        {
            if (index < 0 || index >= Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"patch index {index} is outside 0 .. {Count - 1}");
            }
        }

        if (_grid is not null)
        {
            return CutWindows(indices);
        }
        using var positions = tensor(indices.ToArray(), dtype: ScalarType.Int64, device: _data.device);
        return _data.index_select(0, positions);
    }

    /// <summary>
    /// A new source holding a copy of this one's tensor on <paramref name="device"/> (for eager loading the whole
    /// image moves once). This source stays valid and is still owned by the caller.
    /// </summary>
    public TensorPatchSource ToDevice(Device device)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(device);
        var moved = _data.to(device, copy: true);
        return new TensorPatchSource(moved, _grid);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _data.Dispose();
    }

    // One narrow view per window and a single stack: exactly the chosen windows are copied, never the image.
    // (Advanced indexing into a strided unfold view was measured to grow memory with the image size.)
    private Tensor CutWindows(ReadOnlySpan<long> indices)
    {
        if (indices.IsEmpty)
        {
            return empty([0, .. PatchShape], dtype: _data.dtype, device: _data.device);
        }
        using var scope = NewDisposeScope();
        var windows = new Tensor[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            var box = _grid!.Box(indices[i]);
            windows[i] = _data.narrow(1, box.Y, box.Height).narrow(2, box.X, box.Width); // [C, ph, pw]
        }
        return stack(windows, 0).MoveToOuterDisposeScope();                              // [k, C, ph, pw]
    }
}
