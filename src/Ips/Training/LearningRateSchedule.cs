namespace Ips.Training;

/// <summary>
/// The learning rate of docs/design.md section 4, set before every optimiser step: linear warm-up over
/// <c>n_epoch_warmup</c> epochs to <c>lr</c>, then cosine decay to <c>0.001 * lr</c> at the end of <c>n_epoch</c>
/// epochs, with steps counted in data-loader iterations.
/// </summary>
/// <remarks>
/// Matches the official <c>adjust_learning_rate</c> (utils/utils.py) as called by <c>train_one_epoch</c>
/// (training/iterative.py) with <c>step = data_it + 1</c>, where <c>data_it</c> is the 0-based data-loader
/// iteration counted across epochs. With <c>W = n_epoch_warmup * steps_per_epoch</c>,
/// <c>S = n_epoch * steps_per_epoch</c> and <c>s = step + 1</c> for the 0-based <c>step</c> of
/// <see cref="At"/>:
/// <list type="bullet">
/// <item><c>s &lt; W</c>: <c>lr * s / W</c>, so the first iteration already gets <c>lr / W</c> (not 0);</item>
/// <item>otherwise, with <c>q = (1 + cos(pi (s - W) / (S - W))) / 2</c>: <c>lr q + 0.001 lr (1 - q)</c>, so the
/// last warm-up iteration (<c>step = W - 1</c>) gets exactly <c>lr</c> and the last iteration (<c>step = S - 1</c>)
/// exactly <c>0.001 lr</c>.</item>
/// </list>
/// With eager sequential loading (<c>B_seq = 1</c>) an iteration is one image and the rate is set at the iteration
/// that completes a batch, as in the official loop. Two cases the official formula leaves undefined are fixed here:
/// iterations past <c>S</c> keep <c>0.001 lr</c>, and with no decay phase (<c>n_epoch_warmup = n_epoch</c>) the
/// rate stays at <c>lr</c> after warm-up.
/// </remarks>
public sealed class LearningRateSchedule
{
    private const double FinalFraction = 0.001;

    private readonly double _lr;
    private readonly double _warmupSteps;
    private readonly long _totalSteps;

    /// <summary>Creates the schedule.</summary>
    /// <param name="lr">Peak learning rate (<c>lr</c>).</param>
    /// <param name="nEpoch">Epochs (<c>n_epoch</c>).</param>
    /// <param name="nEpochWarmup">Warm-up epochs (<c>n_epoch_warmup</c>), in [0, <paramref name="nEpoch"/>]; may be fractional.</param>
    /// <param name="stepsPerEpoch">Data-loader iterations per epoch (the official <c>len(dloader)</c>).</param>
    public LearningRateSchedule(double lr, int nEpoch, double nEpochWarmup, long stepsPerEpoch)
    {
        if (!(lr > 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "lr must be > 0");
        if (nEpoch <= 0) throw new ArgumentOutOfRangeException(nameof(nEpoch), nEpoch, "n_epoch must be > 0");
        if (!(nEpochWarmup >= 0 && nEpochWarmup <= nEpoch))
            throw new ArgumentOutOfRangeException(nameof(nEpochWarmup), nEpochWarmup, $"n_epoch_warmup must be in [0, {nEpoch}]");
        if (stepsPerEpoch <= 0)
            throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "steps per epoch must be > 0 (is the dataset empty?)");
        _lr = lr;
        _warmupSteps = nEpochWarmup * stepsPerEpoch;
        _totalSteps = nEpoch * stepsPerEpoch;
    }

    /// <summary>Total data-loader iterations of the run, <c>n_epoch * steps_per_epoch</c>.</summary>
    public long TotalSteps => _totalSteps;

    /// <summary>The learning rate for the 0-based data-loader iteration <paramref name="step"/> (across epochs).</summary>
    public double At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var s = step + 1;
        if (s < _warmupSteps) return _lr * s / _warmupSteps;

        var decaySteps = _totalSteps - _warmupSteps;
        if (decaySteps <= 0) return _lr;
        var progress = Math.Min(s - _warmupSteps, decaySteps) / decaySteps;
        var q = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return _lr * q + FinalFraction * _lr * (1 - q);
    }
}
