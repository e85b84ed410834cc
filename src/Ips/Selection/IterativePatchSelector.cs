using Ips.Configuration;
using Ips.Encoders;
using Ips.Modeling;
using Ips.Patches;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Selection;

/// <summary>
/// Iterative Patch Selection, docs/design.md section 3: stream each image's patches in chunks of I through the encoder
/// without gradients, keep the M best-scored ones in a memory buffer, and return those M patches. Memory depends on
/// M and I, never on N, because only the current chunk is read from an <see cref="IPatchSource"/>.
/// </summary>
public sealed class IterativePatchSelector
{
    private readonly IpsNet _model;
    private Bfloat16Encoder? _bfloat16Encoder;

    /// <summary>
    /// Creates a selector for <paramref name="model"/> with memory size <paramref name="memorySize"/> and chunk size
    /// <paramref name="iterationSize"/> (the config's <c>M</c> and <c>I</c> when null).
    /// </summary>
    public IterativePatchSelector(IpsNet model, int? memorySize = null, int? iterationSize = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        M = memorySize ?? model.Config.M;
        I = iterationSize ?? model.Config.I;
        if (M <= 0 || I <= 0)
        {
            throw new ArgumentException($"config {model.Config.Source}: M ({M}) and I ({I}) must be positive.");
        }
        ReuseIdenticalPatches = model.Config.IsImage;
        EncodeInBfloat16 = model.Config.SelectionDtype == "bfloat16";
    }

    /// <summary>
    /// Run the patch encoder of the selection pass in bfloat16 (config <c>selection_dtype: bfloat16</c>): a copy of the
    /// encoder rounded to bfloat16 embeds the chunks, the scores and the selected patches stay float32. Faster where
    /// the CPU computes in bfloat16 natively (AVX512-BF16, AMX) or on a GPU; the selection can differ from float32's
    /// among patches whose scores are within the rounding.
    /// </summary>
    public bool EncodeInBfloat16 { get; set; }

    /// <summary>
    /// Encode each distinct patch of a chunk once and share its embedding with identical patches (exact: in evaluation
    /// mode a patch's embedding depends on its pixels alone). Pays off on mostly blank images such as Megapixel MNIST
    /// canvases; on by default for image encoders, off for feature matrices, whose rows are rarely equal.
    /// </summary>
    public bool ReuseIdenticalPatches { get; set; }

    /// <summary>Memory size: patches selected per image.</summary>
    public int M { get; }

    /// <summary>Iteration size: patches embedded per step.</summary>
    public int I { get; }

    /// <summary>
    /// Selects M patches from each image of <paramref name="batch"/> (all with the same N and patch shape). The
    /// result lives on <paramref name="device"/>; <paramref name="generator"/> drives the optional shuffle.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty or its images disagree in N or patch shape.</exception>
    public SelectionResult Select(IReadOnlyList<IPatchSource> batch, Device device, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(device);
        var (n, patchShape) = CheckBatch(batch);
        var config = _model.Config;

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        var pe = PositionalTable(n, device);   // [N, D] or null
        if (M >= n)
        {
            return SelectAll(batch, n, pe, device);
        }

        var order = PatchOrder(batch.Count, n, config.Shuffle, config.ShuffleStyle, generator); // original index per step position
        var orderTensor = tensor(order.SelectMany(row => row).ToArray(), dtype: int64).view(batch.Count, n).to(device); // [B, N]

        var modes = TrainingModes();
        try
        {
            _model.Encoder.eval();
            _model.Transformer.eval();

            var encode = Encoder(device);
            var memIdx = orderTensor.narrow(1, 0, M).contiguous();             // [B, M]
            var memEmb = Embed(encode, ReadChunk(batch, order, 0, M, config.Shuffle, device));       // [B, M, D]
            Tensor? memScores = null;

            for (var start = M; start < n; start += I)
            {
                using var step = NewDisposeScope();
                var count = Math.Min(I, n - start);
                var iterEmb = Embed(encode, ReadChunk(batch, order, start, count, config.Shuffle, device)); // [B, c, D]
                var allEmb = cat(new[] { memEmb, iterEmb }, 1);                                        // [B, M+c, D]
                var allIdx = cat(new[] { memIdx, orderTensor.narrow(1, start, count) }, 1);            // [B, M+c]

                // Positional encoding, indexed by original patch position, informs the score only.
                var toScore = pe is null ? allEmb : allEmb + pe.index_select(0, allIdx.flatten()).view_as(allEmb);
                var scores = _model.Transformer.Scores(toScore);                                         // [B, M+c]
                var top = scores.topk(M, dim: -1).indexes;                                              // [B, M]

                var nextEmb = GatherRows(allEmb, top).MoveToOuterDisposeScope();                         // [B, M, D]
                var nextIdx = allIdx.gather(1, top).MoveToOuterDisposeScope();
                var nextScores = scores.gather(1, top).MoveToOuterDisposeScope();
                memEmb.Dispose();
                memIdx.Dispose();
                memScores?.Dispose();
                (memEmb, memIdx, memScores) = (nextEmb, nextIdx, nextScores);
            }

            var patches = GatherSelected(batch, memIdx, device);                                         // [B, M, *shape]
            var pos = pe?.index_select(0, memIdx.flatten()).view(batch.Count, M, -1);                    // [B, M, D]
            return MoveOut(new SelectionResult(patches, pos, memIdx, memScores));
        }
        finally
        {
            RestoreTrainingModes(modes);
        }
    }

    /// <summary>
    /// What to tell the user before training with <paramref name="config"/> on <paramref name="device"/>: null, or that
    /// <c>selection_dtype: bfloat16</c> will be slower than float32 because the CPU has no bfloat16 arithmetic
    /// (<paramref name="nativeBfloat16"/> false). Measured on a Zen 3 without AVX-512 (docs/performance.md):
    /// selection 20x slower on Megapixel MNIST and 7x on CAMELYON16 features.
    /// </summary>
    public static string? SlowCpuNote(IpsConfig config, Device device, bool? nativeBfloat16) =>
        config.SelectionDtype == "bfloat16" && device.type == DeviceType.CPU && nativeBfloat16 == false
            ? $"selection_dtype bfloat16 (config {config.Source}): this CPU has no bfloat16 arithmetic (no avx512_bf16 " +
              "or amx_bf16 flag), so libtorch emulates it and selection runs several times slower than in float32 " +
              "(7x to 20x measured); selection_dtype float32 is the faster choice here"
            : null;

    /// <summary>The float32 model's encoder, or its bfloat16 copy with the current weights.</summary>
    private Func<Tensor, Tensor> Encoder(Device device)
    {
        if (!EncodeInBfloat16)
        {
            return _model.Embed;
        }
        if (_bfloat16Encoder is null || _bfloat16Encoder.Device.type != device.type || _bfloat16Encoder.Device.index != device.index)
        {
            // Its weights come from the trained encoder at every Refresh, so no pretrained file is read here.
            _bfloat16Encoder = new Bfloat16Encoder(IpsNet.CreateEncoder(_model.Config with { Pretrained = false }), device);
        }
        _bfloat16Encoder.Refresh(_model.Encoder);
        return _bfloat16Encoder.Embed;
    }

    /// <summary>Embeds a chunk <c>[B, c, *shape]</c> to <c>[B, c, D]</c>, encoding identical patches once when enabled.</summary>
    private Tensor Embed(Func<Tensor, Tensor> encode, Tensor chunk)
    {
        if (!ReuseIdenticalPatches)
        {
            return encode(chunk);
        }
        using var scope = NewDisposeScope();
        var rows = chunk.flatten(0, 1);                                                      // [B*c, *shape]
        var (distinct, inverse, _) = unique(rows.flatten(1), sorted: true, return_inverse: true, dim: 0); // [U, prod(shape)], [B*c]
        var embedded = encode(distinct.view(new[] { 1L, distinct.shape[0] }.Concat(rows.shape.Skip(1)).ToArray())); // [1, U, D]
        return embedded[0].index_select(0, inverse!)                                         // [B*c, D]
            .view(chunk.shape[0], chunk.shape[1], -1)
            .MoveToOuterDisposeScope();
    }

    private (int N, long[] PatchShape) CheckBatch(IReadOnlyList<IPatchSource> batch)
    {
        if (batch.Count == 0)
        {
            throw new ArgumentException("IPS needs at least one image in the batch.", nameof(batch));
        }
        var n = batch[0].Count;
        var shape = batch[0].PatchShape;
        if (n <= 0)
        {
            throw new ArgumentException("IPS needs at least one patch per image (image 0 has none).", nameof(batch));
        }
        for (var b = 1; b < batch.Count; b++)
        {
            if (batch[b].Count != n || !batch[b].PatchShape.SequenceEqual(shape))
            {
                throw new ArgumentException(
                    $"All images of an IPS batch need the same number of patches and patch shape: image 0 has {n} patches of " +
                    $"[{string.Join(", ", shape)}], image {b} has {batch[b].Count} of [{string.Join(", ", batch[b].PatchShape)}]. " +
                    "Use B_seq 1 for images of varying size.", nameof(batch));
            }
        }
        return (n, shape);
    }

    private Tensor? PositionalTable(int n, Device device)
    {
        if (_model.PositionalEncoding is not { } table)
        {
            return null;
        }
        if (n > table.shape[0])
        {
            throw new ArgumentException(
                $"config {_model.Config.Source}: an image has {n} patches but the positional encoding was built for N = {table.shape[0]}.");
        }
        return table.to(device);
    }

    private SelectionResult SelectAll(IReadOnlyList<IPatchSource> batch, int n, Tensor? pe, Device device)
    {
        var patches = stack(batch.Select(source => source.Read(0, n).to(device)), 0);                 // [B, N, *shape]
        var pos = pe?.narrow(0, 0, n).unsqueeze(0).expand(batch.Count, -1, -1).contiguous();           // [B, N, D]
        var indices = arange(n, dtype: int64, device: device).unsqueeze(0).expand(batch.Count, -1).contiguous(); // [B, N]
        return MoveOut(new SelectionResult(patches, pos, indices, null));
    }

    /// <summary>Step order of each image: the identity, or a random permutation (shared by the batch or per image).</summary>
    private static long[][] PatchOrder(int batchSize, int n, bool shuffle, string shuffleStyle, Generator? generator)
    {
        if (!shuffle)
        {
            var identity = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
            return Enumerable.Repeat(identity, batchSize).ToArray();
        }
        long[] Permutation()
        {
            using var perm = randperm(n, generator: generator, dtype: int64);
            return perm.data<long>().ToArray();
        }
        return shuffleStyle switch
        {
            "batch" => Enumerable.Repeat(Permutation(), batchSize).ToArray(),
            "instance" => Enumerable.Range(0, batchSize).Select(_ => Permutation()).ToArray(),
            _ => throw new ArgumentException($"shuffle_style '{shuffleStyle}' is not supported; expected batch or instance."),
        };
    }

    /// <summary>Patches at step positions <c>start .. start+count-1</c> of every image: <c>[B, count, *shape]</c> on the device.</summary>
    private static Tensor ReadChunk(IReadOnlyList<IPatchSource> batch, long[][] order, int start, int count, bool shuffled, Device device)
    {
        using var scope = NewDisposeScope();
        var chunks = new Tensor[batch.Count];
        for (var b = 0; b < batch.Count; b++)
        {
            var chunk = shuffled
                ? batch[b].Gather(order[b].AsSpan(start, count))
                : batch[b].Read(start, count);
            chunks[b] = chunk.to(device);
        }
        return Batched(chunks).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Rows <paramref name="top"/> <c>[B, k]</c> of each image's <paramref name="rows"/> <c>[B, L, D]</c>: one
    /// index_select over the flattened batch, which copies whole rows where <c>gather</c> with an expanded index
    /// moves element by element (3 % of a feature selection's time in a profile).
    /// </summary>
    private static Tensor GatherRows(Tensor rows, Tensor top)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (rows.shape[0], rows.shape[1]);
        var offsets = arange(batch, dtype: int64, device: top.device).mul_(length).unsqueeze(1); // [B, 1]
        var flat = (top + offsets).flatten();                                                   // [B*k]
        return rows.flatten(0, 1).index_select(0, flat)
            .view(batch, top.shape[1], rows.shape[2])
            .MoveToOuterDisposeScope();
    }

    /// <summary>The images' tensors stacked into a batch; a single image (B_seq 1) becomes a view, not a copy.</summary>
    private static Tensor Batched(Tensor[] perImage) =>
        perImage.Length == 1 ? perImage[0].unsqueeze(0) : stack(perImage, 0);

    private static Tensor GatherSelected(IReadOnlyList<IPatchSource> batch, Tensor memIdx, Device device)
    {
        using var scope = NewDisposeScope();
        using var hostIdx = memIdx.cpu();
        var rows = hostIdx.data<long>().ToArray();
        var m = (int)memIdx.shape[1];
        var patches = new Tensor[batch.Count];
        for (var b = 0; b < batch.Count; b++)
        {
            patches[b] = batch[b].Gather(rows.AsSpan(b * m, m)).to(device);
        }
        return Batched(patches).MoveToOuterDisposeScope();
    }

    private static SelectionResult MoveOut(SelectionResult result)
    {
        result.Patches.MoveToOuterDisposeScope();
        result.PositionalEncoding?.MoveToOuterDisposeScope();
        result.Indices.MoveToOuterDisposeScope();
        result.Scores?.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>The training flag of every module in the encoder and transformer, with its nesting depth.</summary>
    private List<(int Depth, nn.Module Module, bool Training)> TrainingModes()
    {
        var modes = new List<(int, nn.Module, bool)>();
        foreach (var root in new[] { _model.Encoder, (nn.Module)_model.Transformer })
        {
            modes.Add((0, root, root.training));
            foreach (var (name, module) in root.named_modules())
            {
                modes.Add((1 + name.Count(c => c == '.'), module, module.training));
            }
        }
        return modes;
    }

    /// <summary>Restores every module's flag; parents first, since <c>train(bool)</c> also sets the children.</summary>
    private static void RestoreTrainingModes(List<(int Depth, nn.Module Module, bool Training)> modes)
    {
        foreach (var (_, module, training) in modes.OrderBy(mode => mode.Depth))
        {
            module.train(training);
        }
    }
}
