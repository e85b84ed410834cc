using Ips.Configuration;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Training;

public sealed class LossesTests
{
    private static readonly TaskConfig Digit = new() { Key = "task0", Id = 0, Name = "digit", ActFn = "softmax", Metric = "accuracy", NClass = 3 };
    private static readonly TaskConfig Labels = new() { Key = "task1", Id = 1, Name = "labels", ActFn = "sigmoid", Metric = "multilabel_accuracy", NClass = 2 };

    private static Tensor Probs(float[,] values) => tensor(values);

    [Fact]
    public void Softmax_loss_is_the_mean_nll_of_log_p_plus_eps()
    {
        using var scope = NewDisposeScope();
        var preds = new Dictionary<string, Tensor> { ["digit"] = Probs(new float[,] { { 0.7f, 0.2f, 0.1f }, { 0.25f, 0.5f, 0.25f } }) };
        var targets = new Dictionary<string, Tensor> { ["digit"] = tensor(new long[] { 0, 2 }) };
        var (total, perTask) = Losses.Compute(preds, targets, [Digit], eps: 1e-6);
        // -(ln(0.7 + 1e-6) + ln(0.25 + 1e-6)) / 2
        Assert.Equal(0.8714819382481075, perTask["digit"].item<float>(), 5);
        Assert.Equal(perTask["digit"].item<float>(), total.item<float>());
    }

    [Fact]
    public void Eps_keeps_a_zero_probability_finite()
    {
        using var scope = NewDisposeScope();
        var preds = new Dictionary<string, Tensor> { ["digit"] = Probs(new float[,] { { 0f, 1f, 0f } }) };
        var targets = new Dictionary<string, Tensor> { ["digit"] = tensor(new long[] { 0 }) };
        Assert.Equal(13.815510557964274, Losses.Compute(preds, targets, [Digit], 1e-6).Total.item<float>(), 4); // -ln(1e-6)
        Assert.Equal(2.302585092994046, Losses.Compute(preds, targets, [Digit], 0.1).Total.item<float>(), 5);   // -ln(0.1)
    }

    [Fact]
    public void Sigmoid_loss_is_bce_over_batch_and_labels_with_logs_clamped_at_minus_100()
    {
        using var scope = NewDisposeScope();
        var preds = new Dictionary<string, Tensor> { ["labels"] = Probs(new float[,] { { 0.9f, 0.2f }, { 0.4f, 1.0f } }) };
        var targets = new Dictionary<string, Tensor> { ["labels"] = tensor(new float[,] { { 1, 0 }, { 0, 1 } }) };
        // (-ln 0.9 - ln 0.8 - ln 0.6 - ln 1) / 4
        Assert.Equal(0.2098324226845067, Losses.Compute(preds, targets, [Labels], 1e-6).Total.item<float>(), 5);

        var wrong = new Dictionary<string, Tensor> { ["labels"] = Probs(new float[,] { { 0f, 1f } }) };
        var truth = new Dictionary<string, Tensor> { ["labels"] = tensor(new float[,] { { 1, 0 } }) };
        Assert.Equal(100.0, Losses.Compute(wrong, truth, [Labels], 1e-6).Total.item<float>(), 4); // both logs clamp at -100
    }

    [Fact]
    public void Total_is_the_mean_over_tasks_and_carries_gradients()
    {
        using var scope = NewDisposeScope();
        var digits = Probs(new float[,] { { 0.7f, 0.2f, 0.1f }, { 0.25f, 0.5f, 0.25f } }).requires_grad_();
        var labels = Probs(new float[,] { { 0.9f, 0.2f }, { 0.4f, 1.0f } }).requires_grad_();
        var preds = new Dictionary<string, Tensor> { ["digit"] = digits, ["labels"] = labels };
        var targets = new Dictionary<string, Tensor>
        {
            ["digit"] = tensor(new long[] { 0, 2 }),
            ["labels"] = tensor(new long[,] { { 1, 0 }, { 0, 1 } }), // integer 0/1 targets are accepted
        };
        var (total, perTask) = Losses.Compute(preds, targets, [Digit, Labels], 1e-6);
        Assert.Equal((0.8714819382481075 + 0.2098324226845067) / 2, total.item<float>(), 5);
        Assert.Equal(2, perTask.Count);
        total.backward();
        Assert.NotNull(digits.grad);
        // d total / d p[0,0] = 1/2 (tasks) * 1/2 (batch) * -1 / (0.7 + 1e-6)
        Assert.Equal(-0.25 / 0.700001, digits.grad!.data<float>()[0], 5);
    }

    [Fact]
    public void Mismatched_shapes_and_classes_give_clear_errors()
    {
        using var scope = NewDisposeScope();
        var preds = new Dictionary<string, Tensor> { ["digit"] = Probs(new float[,] { { 0.5f, 0.3f, 0.2f } }) };
        var e = Assert.Throws<ArgumentException>(() => Losses.Compute(preds,
            new Dictionary<string, Tensor> { ["digit"] = tensor(new long[] { 3 }) }, [Digit], 1e-6));
        Assert.Contains("class indices must be in [0, 3)", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Losses.Compute(preds,
            new Dictionary<string, Tensor> { ["digit"] = tensor(new long[] { 0, 1 }) }, [Digit], 1e-6));
        Assert.Contains("task 'digit' (softmax)", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Losses.Compute(preds, new Dictionary<string, Tensor>(), [Digit], 1e-6));
        Assert.Contains("no target for task 'digit'", e.Message, StringComparison.Ordinal);
    }
}
