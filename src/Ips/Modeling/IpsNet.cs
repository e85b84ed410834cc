using Ips.Configuration;
using Ips.Encoders;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch;

namespace Ips.Modeling;

/// <summary>
/// The IPS network of docs/design.md section 2 (official <c>IPSNet</c>): patch encoder (<c>encoder</c>), cross-attention
/// transformer (<c>transf</c>) and one head per task (<c>output_layers.&lt;task&gt;</c>). Selection lives in
/// <see cref="Selection.IterativePatchSelector"/>; <see cref="forward"/> is the pass over the M selected patches.
/// </summary>
public sealed class IpsNet : Module<Tensor, Tensor?, Dictionary<string, Tensor>>
{
#pragma warning disable IDE1006 // Field names are the official state_dict names.
    private readonly Sequential encoder;
    private readonly CrossAttentionTransformer transf;
    private readonly ModuleDict<Module> output_layers;
#pragma warning restore IDE1006

    /// <summary>Builds the network for <paramref name="config"/>.</summary>
    /// <exception cref="ArgumentException">The config is inconsistent (e.g. <c>use_pos</c> without <c>N</c>, or no tasks).</exception>
    public IpsNet(IpsConfig config) : base("IPSNet")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Tasks.Count == 0)
        {
            throw new ArgumentException($"config {config.Source}: at least one task is required under tasks.", nameof(config));
        }
        foreach (var task in config.Tasks)
        {
            if (task.Id < 0 || task.Id >= config.NToken)
            {
                throw new ArgumentException(
                    $"config {config.Source}: task {task.Name} reads token id {task.Id}, but n_token is {config.NToken}.", nameof(config));
            }
            if (task.ActFn is not ("softmax" or "sigmoid"))
            {
                throw new ArgumentException(
                    $"config {config.Source}: task {task.Name} has act_fn '{task.ActFn}'; expected softmax or sigmoid.", nameof(config));
            }
        }

        Config = config;
        encoder = CreateEncoder(config);
        transf = new CrossAttentionTransformer(
            config.NToken, config.H, config.D, config.DK, config.DV, config.DInner, config.AttnDropout, config.Dropout);
        output_layers = ModuleDict(config.Tasks
            .Select(task => (task.Name, (Module)Sequential(
                Linear(config.D, task.NClass),
                task.IsSoftmax ? Softmax(dim: -1) : Sigmoid())))
            .ToArray());
        RegisterComponents();

        // Set after registration on purpose: like the official code, the table is a plain tensor, not a
        // parameter or buffer, so it never appears in a state_dict.
        if (config.UsePos)
        {
            if (config.N is not int n || n <= 0)
            {
                throw new ArgumentException($"config {config.Source}: use_pos needs N (the number of patches per image).", nameof(config));
            }
            PositionalEncoding = Modeling.PositionalEncoding.Sinusoidal1d(config.D, n);
        }
    }

    /// <summary>
    /// The patch encoder of <paramref name="config"/>: the image encoder of <see cref="PatchEncoders"/> when
    /// <c>is_image</c>, else the projector of pre-extracted features.
    /// </summary>
    public static Sequential CreateEncoder(IpsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsImage
            ? PatchEncoders.Image(new PatchEncoderSpec(
                config.EncType, config.NResBlocks, config.NChanIn, config.D, config.Pretrained, config.PretrainedWeights, config.Source))
            : PatchEncoders.Projector(config.NChanIn, config.D);
    }

    /// <summary>The configuration the network was built from.</summary>
    public IpsConfig Config { get; }

    /// <summary>The sinusoidal table <c>[N, D]</c> on the CPU when <c>use_pos</c>, else null.</summary>
    public Tensor? PositionalEncoding { get; }

    /// <summary>The patch encoder (<c>encoder</c>): <c>[K, *patchShape]</c> to <c>[K, width, 1, 1]</c> or <c>[K, D]</c>.</summary>
    public Module Encoder => encoder;

    /// <summary>The cross-attention transformer (<c>transf</c>).</summary>
    public CrossAttentionTransformer Transformer => transf;

    /// <summary>Embeds patches <c>[B, K, *patchShape]</c> to <c>[B, K, D]</c>.</summary>
    public Tensor Embed(Tensor patches)
    {
        ArgumentNullException.ThrowIfNull(patches);
        var (batch, count) = (patches.shape[0], patches.shape[1]);
        using var scope = NewDisposeScope();
        var flat = patches.reshape(new[] { batch * count }.Concat(patches.shape.Skip(2)).ToArray()); // [B*K, *patchShape]
        return encoder.forward(flat).view(batch, count, -1).MoveToOuterDisposeScope();             // [B, K, D]
    }

    /// <summary>
    /// The forward pass over the selected patches <paramref name="patches"/> <c>[B, M, *patchShape]</c> with their
    /// positional encodings <paramref name="pos"/> <c>[B, M, D]</c> (or null): task name to probabilities
    /// (<c>[B, n_class]</c>, softmax or sigmoid).
    /// </summary>
    public override Dictionary<string, Tensor> forward(Tensor patches, Tensor? pos)
    {
        using var scope = NewDisposeScope();
        var tokens = transf.forward(EmbedWithPositions(patches, pos));    // [B, n_token, D]
        return Heads(tokens);
    }

    /// <summary>
    /// <see cref="forward"/> that also returns the aggregator's attention <c>[B, H, n_token, M]</c> on the selected
    /// patches in this very pass: what a prediction reports per patch, without encoding the patches a second time.
    /// </summary>
    public (Dictionary<string, Tensor> Predictions, Tensor Attention) ForwardWithAttention(Tensor patches, Tensor? pos)
    {
        using var scope = NewDisposeScope();
        var (tokens, attention) = transf.ForwardWithAttention(EmbedWithPositions(patches, pos)); // [B, n_token, D], [B, H, n_token, M]
        return (Heads(tokens), attention.MoveToOuterDisposeScope());
    }

    // The patch embeddings [B, M, D] with their positional encodings added, if any.
    private Tensor EmbedWithPositions(Tensor patches, Tensor? pos)
    {
        var embeddings = Embed(patches);                     // [B, M, D]
        return pos is null ? embeddings : embeddings + pos;
    }

    // Each task's head on its token: task name to probabilities [B, n_class], moved out of the caller's scope.
    private Dictionary<string, Tensor> Heads(Tensor tokens)
    {
        var predictions = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var task in Config.Tasks)
        {
            var head = (Sequential)output_layers[task.Name];
            predictions[task.Name] = head.forward(tokens.select(1, task.Id)).MoveToOuterDisposeScope(); // [B, n_class]
        }
        return predictions;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            PositionalEncoding?.Dispose();
        }
        base.Dispose(disposing);
    }
}
