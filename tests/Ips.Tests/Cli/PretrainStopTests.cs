using Ips.Encoders;
using Ips.Pretraining;
using Ips.Tests.Data;
using Ips.Tests.Pretraining;

namespace Ips.Tests.Cli;

/// <summary>
/// <c>ips pretrain byol</c> stops as <c>ips train</c> does: SIGTERM (a cluster's time limit, <c>docker stop</c>) and
/// Ctrl-C both finish the current step, save <c>byol.ckpt</c> and exit with 128 + the signal's number (SIGINT's path is
/// the same <c>StopSignals</c> handler, tested with <c>ips train</c>; resuming to identical weights is tested in
/// ByolTrainingTests).
/// </summary>
[Collection(nameof(TrainProcesses))]
public sealed class PretrainStopTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Sigterm_saves_byol_ckpt_at_a_step_boundary_and_exits_143()
    {
        var tiles = Path.Combine(_dir.Path, "tiles");
        ByolTestData.WriteTiles(tiles, 32, size: 24);
        var runDir = Path.Combine(_dir.Path, "byol");
        var checkpoint = Path.Combine(runDir, ByolCheckpoint.FileName);

        using (var run = CliProcess.Start(_dir.Path, "pretrain", "byol", "--tiles", tiles, "--out", runDir, "--plain",
            "--set", "backbone=resnet18", "--set", "epochs=500", "--set", "batch_size=16", "--set", "image_size=16", "--set", "blur_kernel=7",
            "--set", "projector_hidden=32", "--set", "projection_dim=16", "--set", "predictor_hidden=32", "--set", "warmup_epochs=0", "--set", "n_worker=1"))
        {
            run.WaitForLine("epoch 1/500 step 2/2");
            run.Signal("TERM");
            Assert.Equal(143, run.WaitForExit());
            Assert.Contains("SIGTERM: stopping after the current step; saving byol.ckpt", run.Text, StringComparison.Ordinal);
            Assert.Contains($"stopped; byol.ckpt saved; continue with ips pretrain byol --resume {runDir}", run.Text, StringComparison.Ordinal);
        }
        // At a step boundary after the first epoch's two steps: the checkpoint holds whole steps only.
        Assert.InRange(ByolEncoderFile.ReadState(checkpoint).Step, 2, 999);
    }
}
