using Ips.Encoders;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch;

namespace Ips.Pretraining;

/// <summary>BYOL's projector and predictor MLP: Linear(in, hidden) -> BatchNorm1d -> ReLU -> Linear(hidden, out).</summary>
public static class ByolMlp
{
    /// <summary>The MLP; state_dict keys <c>0.*</c> (first Linear), <c>1.*</c> (BatchNorm), <c>3.*</c> (last Linear).</summary>
    public static Sequential Create(int input, int hidden, int output) => Sequential(
        Linear(input, hidden),
        BatchNorm1d(hidden),
        ReLU(),
        Linear(hidden, output));
}

/// <summary>An encoder followed by a projector: BYOL's online network without the predictor, and its target network.</summary>
public sealed class ByolBranch : Module<Tensor, Tensor>
{
    /// <summary>Creates the branch; state_dict keys <c>backbone.*</c> and <c>projector.*</c>.</summary>
    public ByolBranch(ByolConfig config) : base("byol_branch")
    {
        ArgumentNullException.ThrowIfNull(config);
        backbone = new ResNetBackbone(config.Backbone);
        projector = ByolMlp.Create(backbone.OutputDim, config.ProjectorHidden, config.ProjectionDim);
        RegisterComponents();
    }

#pragma warning disable IDE1006 // Field names are the state_dict prefixes.
    private readonly ResNetBackbone backbone;
    private readonly Sequential projector;
#pragma warning restore IDE1006

    /// <summary>The ResNet encoder.</summary>
    public ResNetBackbone Backbone => backbone;

    /// <summary>The projector MLP.</summary>
    public Sequential Projector => projector;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => projector.call(backbone.call(x)); // [B, 3, H, W] -> [B, P]
}

/// <summary>
/// BYOL (Grill et al. 2020): an online network (backbone, projector, predictor) trained to predict the target
/// network's projection of another view of the same tile; the target is an exponential moving average of the online
/// network and gets no gradient. State_dict keys <c>online.*</c>, <c>predictor.*</c>, <c>target.*</c>.
/// </summary>
public sealed class ByolNetwork : Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates online and target networks with equal weights (the target a copy of the online network).</summary>
    /// <param name="config">Backbone and MLP sizes.</param>
    /// <param name="initWeights">A torchvision ResNet state_dict for the backbone, or null for a random initialisation.</param>
    public ByolNetwork(ByolConfig config, string? initWeights = null) : base("byol")
    {
        ArgumentNullException.ThrowIfNull(config);
        online = new ByolBranch(config);
        predictor = ByolMlp.Create(config.ProjectionDim, config.PredictorHidden, config.ProjectionDim);
        target = new ByolBranch(config);
        RegisterComponents();
        if (initWeights is not null)
        {
            online.Backbone.LoadTorchvisionWeights(initWeights);
        }
        CopyState(online, target);
        foreach (var parameter in target.parameters())
        {
            parameter.requires_grad = false;
        }
    }

#pragma warning disable IDE1006 // Field names are the state_dict prefixes.
    private readonly ByolBranch online;
    private readonly Sequential predictor;
    private readonly ByolBranch target;
#pragma warning restore IDE1006

    /// <summary>The online backbone and projector.</summary>
    public ByolBranch Online => online;

    /// <summary>The online predictor.</summary>
    public Sequential Predictor => predictor;

    /// <summary>The target backbone and projector (EMA of <see cref="Online"/>).</summary>
    public ByolBranch Target => target;

    /// <summary>The trained parameters: online network then predictor, under their state_dict names.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(p => !p.name.StartsWith("target.", StringComparison.Ordinal));

    /// <summary>
    /// The symmetrised BYOL loss of two views <c>[B, 3, S, S]</c> of the same tiles:
    /// <c>L(q(f(v1)), z'(v2)) + L(q(f(v2)), z'(v1))</c>, the target projections without gradient.
    /// </summary>
    public override Tensor forward(Tensor view1, Tensor view2)
    {
        var batch = view1.shape[0];
        // Both views in one pass, as BYOL's reference implementations do; BatchNorm sees the 2B tiles together.
        var both = cat([view1, view2], 0); // [2B, 3, S, S]
        var p = predictor.call(online.call(both)); // [2B, P]
        Tensor z;
        using (no_grad())
        {
            z = target.call(both).detach(); // [2B, P]
        }
        var (p1, p2) = (p.narrow(0, 0, batch), p.narrow(0, batch, batch));
        var (z1, z2) = (z.narrow(0, 0, batch), z.narrow(0, batch, batch));
        return ByolLoss.Symmetric(p1, p2, z1, z2);
    }

    /// <summary>
    /// The target update after an optimiser step: <c>xi = tau xi + (1 - tau) theta</c> for every target parameter
    /// xi and its online counterpart theta. BatchNorm running statistics are not averaged: the target's own forward
    /// passes (in training mode) keep them, as in BYOL's reference implementations.
    /// </summary>
    public void UpdateTarget(double tau) => EmaUpdate(target, online, tau);

    /// <summary><c>target = tau target + (1 - tau) online</c>, parameter by parameter (same architecture).</summary>
    public static void EmaUpdate(Module target, Module online, double tau)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(online);
        using var noGrad = no_grad();
        foreach (var (t, o) in target.parameters().Zip(online.parameters()))
        {
            t.mul_(tau).add_(o, alpha: 1 - tau);
        }
    }

    private static void CopyState(Module from, Module to)
    {
        using var noGrad = no_grad();
        var source = from.state_dict();
        foreach (var (key, destination) in to.state_dict())
        {
            destination.copy_(source[key]);
        }
    }
}

/// <summary>The BYOL regression loss and the target's EMA schedule.</summary>
public static class ByolLoss
{
    /// <summary>
    /// <c>2 - 2 cos(p, z)</c> per row, averaged over the batch: the squared distance of the L2-normalised vectors,
    /// 0 when they point the same way, 4 when opposite. <c>p</c>, <c>z</c>: <c>[B, P]</c>.
    /// </summary>
    public static Tensor Pair(Tensor p, Tensor z)
    {
        var pn = functional.normalize(p, p: 2, dim: 1);
        var zn = functional.normalize(z, p: 2, dim: 1);
        return (2 - 2 * (pn * zn).sum(1)).mean(); // []
    }

    /// <summary>The symmetrised loss: view 1's prediction against view 2's target projection, plus the reverse.</summary>
    public static Tensor Symmetric(Tensor p1, Tensor p2, Tensor z1, Tensor z2) => Pair(p1, z2) + Pair(p2, z1);

    /// <summary>
    /// The EMA rate at 0-based step <paramref name="step"/> of <paramref name="totalSteps"/>:
    /// <c>tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2</c>, from <c>tau_base</c> at the first step to 1 at the last.
    /// </summary>
    public static double Tau(long step, long totalSteps, double tauBase)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        var k = Math.Clamp(step, 0, totalSteps);
        return 1 - (1 - tauBase) * (Math.Cos(Math.PI * k / totalSteps) + 1) / 2;
    }
}
