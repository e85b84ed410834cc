using Ips.Training;

namespace Ips.Tests.Training;

public sealed class SeedsTests
{
    [Theory]
    [InlineData(0, 0, 10)]
    [InlineData(0, 1, 10)]
    [InlineData(7, 3, 64)]
    [InlineData(123456, 0, 1000)]
    [InlineData(-5, 12, 33)]
    public void The_epoch_order_is_the_shuffle_training_and_pretraining_used_before_they_shared_it(int seed, int epoch, int count)
    {
        // The formula Trainer.EpochOrder and ByolTrainer.EpochOrder each had: a run resumed with a newer build must
        // continue the epoch in the order it started.
        var expected = Enumerable.Range(0, count).ToArray();
        new Random((int)(Seeds.Mix(seed, epoch, 0x5EED) & int.MaxValue)).Shuffle(expected);

        Assert.Equal(expected, Seeds.ShuffledOrder(seed, epoch, count));
    }

    [Fact]
    public void The_epoch_order_is_a_permutation_that_changes_with_the_epoch_and_the_seed()
    {
        var order = Seeds.ShuffledOrder(0, 0, 100);

        Assert.Equal(Enumerable.Range(0, 100), order.Order());
        Assert.NotEqual(order, Seeds.ShuffledOrder(0, 1, 100));
        Assert.NotEqual(order, Seeds.ShuffledOrder(1, 0, 100));
        Assert.Equal(order, Seeds.ShuffledOrder(0, 0, 100));
    }
}
