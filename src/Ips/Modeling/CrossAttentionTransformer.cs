using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ips.Modeling;

/// <summary>
/// Multi-head cross-attention of <c>n_token</c> learnable queries over a sequence of patch embeddings
/// (docs/design.md section 2; official <c>MultiHeadCrossAttention</c>). Field names match the official state_dict.
/// </summary>
public sealed class MultiHeadCrossAttention : Module<Tensor, Tensor>
{
    private readonly int _nToken;
    private readonly int _heads;
    private readonly int _dK;
    private readonly int _dV;

#pragma warning disable IDE1006 // Field names are the official state_dict names.
    private readonly Parameter q;
    private readonly Linear q_w;
    private readonly Linear k_w;
    private readonly Linear v_w;
    private readonly Linear fc;
    private readonly Dropout attn_dropout;
    private readonly Dropout dropout;
    private readonly LayerNorm layer_norm;
#pragma warning restore IDE1006

    /// <summary>Creates the module; <c>q</c> is initialised uniform in +-sqrt(1/D_k) like the official code.</summary>
    public MultiHeadCrossAttention(int nToken, int H, int D, int dK, int dV, double attnDropout, double dropout)
        : base("MultiHeadCrossAttention")
    {
        _nToken = nToken;
        _heads = H;
        _dK = dK;
        _dV = dV;

        var bound = Math.Sqrt(1.0 / dK);
        q = new Parameter(empty(1, nToken, D));
        using (no_grad())
        {
            init.uniform_(q, -bound, bound);
        }
        q_w = Linear(D, H * dK, hasBias: false);
        k_w = Linear(D, H * dK, hasBias: false);
        v_w = Linear(D, H * dV, hasBias: false);
        fc = Linear(H * dV, D, hasBias: false);
        attn_dropout = Dropout(attnDropout);
        this.dropout = Dropout(dropout);
        layer_norm = LayerNorm(D, eps: 1e-6);
        RegisterComponents();
    }

    /// <summary>
    /// Attention weights <c>[B, H, n_token, L]</c> of the queries over <paramref name="x"/> <c>[B, L, D]</c>:
    /// softmax((q_h / sqrt(D_k)) . k_h^T) over the patches, then attention dropout (active in train mode only).
    /// The keys' projection is folded into the queries: <c>(q_h / sqrt(D_k)) . (W_k,h x) = ((W_k,h^T q_h) / sqrt(D_k))
    /// . x</c>, so each patch costs one <c>[D, n_token x H]</c> product instead of the <c>[D, H x D_k]</c> key
    /// projection (D_k / n_token times fewer multiply-adds, 64 with CAMELYON16's one token). The same function as the
    /// official code's up to float rounding; on pre-extracted features the key projection was a third of a
    /// selection's arithmetic.
    /// </summary>
    public Tensor Attention(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (x.shape[0], x.shape[1]);
        var qh = q_w.forward(q).view(_nToken, _heads, 1, _dK) / Math.Sqrt(_dK);             // [n_token, H, 1, D_k]
        var keys = k_w.weight!.view(1, _heads, _dK, -1);                                  // [1, H, D_k, D]
        var folded = matmul(qh, keys).view(_nToken * _heads, -1);                         // [n_token*H, D]
        var logits = matmul(x, folded.t())                                              // [B, L, n_token*H]
            .view(batch, length, _nToken, _heads)
            .permute(0, 3, 2, 1);                                                       // [B, H, n_token, L]
        var attn = attn_dropout.forward(softmax(logits, dim: -1));
        return attn.MoveToOuterDisposeScope();
    }

    /// <summary>Attends over <paramref name="x"/> <c>[B, L, D]</c> and returns the query tokens <c>[B, n_token, D]</c>.</summary>
    public override Tensor forward(Tensor x)
    {
        var (tokens, attention) = Attend(x);
        attention.Dispose();
        return tokens;
    }

    /// <summary>
    /// <see cref="forward"/> that also hands back the attention weights <c>[B, H, n_token, L]</c> it mixed the patches
    /// with, so a caller who wants both (a prediction and its attention) runs the encoder and the attention once.
    /// </summary>
    public (Tensor Tokens, Tensor Attention) Attend(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (x.shape[0], x.shape[1]);
        var attn = Attention(x);                                                  // [B, H, n_token, L]
        // The values' projection folds the same way: sum_l a_l (W_v,h x_l) = W_v,h (sum_l a_l x_l), so the patches
        // are mixed first and only the n_token x H mixtures are projected, not all L patches.
        var mixed = bmm(attn.reshape(batch, _heads * _nToken, length), x)          // [B, H*n_token, D]
            .view(batch, _heads, _nToken, -1)
            .permute(1, 0, 2, 3)
            .reshape(_heads, batch * _nToken, -1);                                  // [H, B*n_token, D]
        var values = v_w.weight!.view(_heads, _dV, -1).transpose(1, 2);             // [H, D, D_v]
        var perHead = bmm(mixed, values).view(_heads, batch, _nToken, _dV);          // [H, B, n_token, D_v]
        var concat = perHead.permute(1, 2, 0, 3).reshape(batch, _nToken, -1);      // [B, n_token, H*D_v]
        var y = dropout.forward(fc.forward(concat)) + q;                          // residual on the raw queries
        return (layer_norm.forward(y).MoveToOuterDisposeScope(), attn.MoveToOuterDisposeScope());
    }
}

/// <summary>Two feed-forward layers with residual connection and LayerNorm (official <c>MLP</c>).</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the official state_dict names.
    private readonly Linear w_1;
    private readonly Linear w_2;
    private readonly LayerNorm layer_norm;
    private readonly Dropout dropout;
#pragma warning restore IDE1006

    /// <summary>Creates Linear(D, D_inner) -> ReLU -> Linear(D_inner, D) -> dropout, + residual, LayerNorm(eps 1e-6).</summary>
    public Mlp(int D, int dInner, double dropout) : base("MLP")
    {
        w_1 = Linear(D, dInner);
        w_2 = Linear(dInner, D);
        layer_norm = LayerNorm(D, eps: 1e-6);
        this.dropout = Dropout(dropout);
        RegisterComponents();
    }

    /// <summary><c>[B, n_token, D]</c> to <c>[B, n_token, D]</c>.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = dropout.forward(w_2.forward(functional.relu(w_1.forward(x)))) + x;
        return layer_norm.forward(y).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The cross-attention transformer that aggregates patch embeddings into <c>n_token</c> tokens and scores patches
/// for selection (official <c>Transformer</c>: submodules <c>crs_attn</c> and <c>mlp</c>).
/// </summary>
public sealed class CrossAttentionTransformer : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the official state_dict names.
    private readonly MultiHeadCrossAttention crs_attn;
    private readonly Mlp mlp;
#pragma warning restore IDE1006

    /// <summary>Creates the transformer with the official hyper-parameters.</summary>
    public CrossAttentionTransformer(int nToken, int H, int D, int dK, int dV, int dInner, double attnDropout, double dropout)
        : base("Transformer")
    {
        crs_attn = new MultiHeadCrossAttention(nToken, H, D, dK, dV, attnDropout, dropout);
        mlp = new Mlp(D, dInner, dropout);
        RegisterComponents();
    }

    /// <summary><c>[B, L, D]</c> patch embeddings to <c>[B, n_token, D]</c> image tokens.</summary>
    public override Tensor forward(Tensor x)
    {
        using var attended = crs_attn.forward(x);
        return mlp.forward(attended);
    }

    /// <summary>
    /// <see cref="forward"/> with the attention maps <c>[B, H, n_token, L]</c> of the same pass (with attention
    /// dropout in train mode, as the tokens saw them).
    /// </summary>
    public (Tensor Tokens, Tensor Attention) ForwardWithAttention(Tensor x)
    {
        var (attended, attention) = crs_attn.Attend(x);
        using (attended)
        {
            return (mlp.forward(attended), attention);
        }
    }

    /// <summary>Attention maps <c>[B, H, n_token, L]</c> (with attention dropout in train mode, as the official code).</summary>
    public Tensor Attention(Tensor x) => crs_attn.Attention(x);

    /// <summary>Patch scores for selection <c>[B, L]</c>: attention averaged over heads, then over tokens.</summary>
    public Tensor Scores(Tensor x)
    {
        using var attn = crs_attn.Attention(x);    // [B, H, n_token, L]
        using var perToken = attn.mean(new long[] { 1 });  // [B, n_token, L]
        return perToken.mean(new long[] { 1 });    // [B, L]
    }
}
