using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ips.Pretraining;

/// <summary>
/// LARS (You et al. 2017) as BYOL uses it: SGD with momentum whose update of each weight matrix is rescaled by the
/// trust ratio <c>eta ||w|| / ||g + wd w||</c>. Per parameter w with gradient g:
/// <code>
/// d = g + wd w                                   (not for excluded parameters)
/// d = d * (eta ||w|| / ||d||)                    (not for excluded ones; ratio 1 when either norm is 0)
/// m = momentum m + d;   w = w - lr m
/// </code>
/// Excluded parameters (by default those with one dimension: biases and BatchNorm weights and biases) get neither
/// weight decay nor the trust ratio, as in BYOL. The learning rate is set before every step by the caller.
/// </summary>
public sealed class Lars : IDisposable
{
    private readonly (string Name, Parameter Parameter, bool Excluded)[] _parameters;
    private readonly Dictionary<string, Tensor> _momentum = new(StringComparer.Ordinal);
    private readonly double _momentumRate;
    private readonly double _weightDecay;
    private readonly double _trustCoefficient;

    /// <summary>Creates the optimiser with zero momentum buffers.</summary>
    /// <param name="parameters">Named parameters to train; the names key the saved state.</param>
    /// <param name="momentum">Momentum rate (BYOL: 0.9).</param>
    /// <param name="weightDecay">Weight decay of non-excluded parameters (BYOL: 1.5e-6).</param>
    /// <param name="trustCoefficient">eta (BYOL: 0.001).</param>
    /// <param name="exclude">Which parameters skip weight decay and adaptation; default: one-dimensional ones.</param>
    public Lars(IEnumerable<(string Name, Parameter Parameter)> parameters, double momentum, double weightDecay, double trustCoefficient,
        Func<string, Parameter, bool>? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        exclude ??= IsBiasOrNorm;
        _parameters = [.. parameters.Select(p => (p.Name, p.Parameter, exclude(p.Name, p.Parameter)))];
        foreach (var (name, parameter, _) in _parameters)
        {
            _momentum[name] = zeros_like(parameter).requires_grad_(false);
        }
        _momentumRate = momentum;
        _weightDecay = weightDecay;
        _trustCoefficient = trustCoefficient;
    }

    /// <summary>Learning rate of the next <see cref="Step"/>.</summary>
    public double LearningRate { get; set; }

    /// <summary>Names of the parameters excluded from weight decay and adaptation.</summary>
    public IEnumerable<string> Excluded => _parameters.Where(p => p.Excluded).Select(p => p.Name);

    /// <summary>Biases and BatchNorm weights and biases: the one-dimensional parameters.</summary>
    public static bool IsBiasOrNorm(string name, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return parameter.dim() == 1;
    }

    /// <summary>Clears the gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, parameter, _) in _parameters)
        {
            parameter.grad?.zero_();
        }
    }

    /// <summary>Applies one update from the current gradients (parameters without a gradient are left alone).</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, parameter, excluded) in _parameters)
        {
            if (parameter.grad is not { } grad)
            {
                continue;
            }
            var update = grad;
            if (!excluded)
            {
                update = update.add(parameter, alpha: _weightDecay);
                var weightNorm = parameter.norm();
                var updateNorm = update.norm();
                var one = ones_like(weightNorm);
                var trust = where(weightNorm > 0, where(updateNorm > 0, _trustCoefficient * weightNorm / updateNorm, one), one);
                update = update.mul(trust);
            }
            var buffer = _momentum[name];
            buffer.mul_(_momentumRate).add_(update);
            parameter.add_(buffer, alpha: -LearningRate);
        }
    }

    /// <summary>The momentum buffers by parameter name (live tensors; save them, do not dispose them).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() => _momentum;

    /// <summary>Restores momentum buffers saved from <see cref="StateDict"/>; names and shapes must match.</summary>
    /// <exception cref="InvalidDataException">A buffer is missing, unexpected or mis-shaped.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(state);
        var missing = _momentum.Keys.Where(key => !state.ContainsKey(key)).ToList();
        var unexpected = state.Keys.Where(key => !_momentum.ContainsKey(key)).ToList();
        var misshaped = _momentum.Keys.Where(state.ContainsKey).Where(key => !state[key].shape.SequenceEqual(_momentum[key].shape)).ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
        {
            throw new InvalidDataException(
                $"{sourceName}: the LARS state does not match the network (missing {missing.Count}, unexpected {unexpected.Count}, " +
                $"mis-shaped {misshaped.Count}: {string.Join(", ", missing.Concat(unexpected).Concat(misshaped).Take(5))}).");
        }
        using var noGrad = no_grad();
        foreach (var (name, buffer) in _momentum)
        {
            buffer.copy_(state[name]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var buffer in _momentum.Values)
        {
            buffer.Dispose();
        }
        _momentum.Clear();
    }
}
