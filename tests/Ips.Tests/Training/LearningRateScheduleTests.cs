using Ips.Training;

namespace Ips.Tests.Training;

public sealed class LearningRateScheduleTests
{
    // lr 1e-3, 10 epochs of 5 iterations, 2 warm-up epochs: W = 2 * 5 = 10 warm-up steps, S = 10 * 5 = 50 steps.
    // The official code sets the rate for iteration k with step s = k + 1.
    private readonly LearningRateSchedule _schedule = new(lr: 1e-3, nEpoch: 10, nEpochWarmup: 2, stepsPerEpoch: 5);

    [Fact]
    public void Warm_up_starts_at_lr_over_W_and_reaches_lr_at_its_last_step()
    {
        Assert.Equal(1e-4, _schedule.At(0), 15);  // s = 1: 1e-3 * 1 / 10
        Assert.Equal(5e-4, _schedule.At(4), 15);  // s = 5: 1e-3 * 5 / 10
        Assert.Equal(1e-3, _schedule.At(9), 15);  // s = 10 = W: q = (1 + cos 0) / 2 = 1 -> lr
    }

    [Fact]
    public void Cosine_decay_halves_midway_and_ends_at_a_thousandth_of_lr()
    {
        // s = 30: progress (30 - 10) / (50 - 10) = 0.5, q = (1 + cos(pi/2)) / 2 = 0.5 -> 0.5e-3 + 0.5 * 1e-6
        Assert.Equal(5.005e-4, _schedule.At(29), 15);
        // s = 50 = S: q = (1 + cos pi) / 2 = 0 -> 0.001 * 1e-3
        Assert.Equal(1e-6, _schedule.At(49), 15);
        Assert.Equal(1e-6, _schedule.At(500), 15); // past the end it stays at the floor
        Assert.Equal(50, _schedule.TotalSteps);
    }

    [Fact]
    public void Without_warm_up_the_first_step_is_already_decaying()
    {
        var schedule = new LearningRateSchedule(1e-3, 10, 0, 5);
        // s = 1: q = (1 + cos(pi / 50)) / 2 = 0.99901336421413...; 1e-3 q + 1e-6 (1 - q)
        Assert.Equal(0.0009990143508499217, schedule.At(0), 15);
    }

    [Fact]
    public void With_warm_up_over_all_epochs_the_rate_stays_at_lr()
    {
        var schedule = new LearningRateSchedule(1e-3, 2, 2, 3);
        Assert.Equal(1e-3 / 6, schedule.At(0), 15); // s = 1 of W = 6
        Assert.Equal(1e-3, schedule.At(5), 15);     // s = 6 = W = S, no decay phase
    }

    [Fact]
    public void A_fractional_warm_up_covers_that_share_of_the_steps()
    {
        // 4 epochs of 10 iterations, 0.25 warm-up epochs: W = 2.5, S = 40.
        var schedule = new LearningRateSchedule(1e-3, 4, 0.25, 10);
        Assert.Equal(1e-3 * 1 / 2.5, schedule.At(0), 15); // s = 1 < W
        Assert.Equal(1e-3 * 2 / 2.5, schedule.At(1), 15); // s = 2 < W
        // s = 3: progress (3 - 2.5) / 37.5; q = (1 + cos(pi / 75)) / 2 = 0.99956144...; 1e-3 q + 1e-6 (1 - q)
        Assert.Equal(0.0009995618536343797, schedule.At(2), 15);
        Assert.Equal(1e-6, schedule.At(39), 15);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LearningRateSchedule(0, 10, 2, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LearningRateSchedule(1e-3, 10, 11, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LearningRateSchedule(1e-3, 10, double.NaN, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LearningRateSchedule(1e-3, 10, 2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _schedule.At(-1));
    }
}
