using Ips.Cli.Hosting;

namespace Ips.Tests.Cli;

/// <summary>A live progress row fits the terminal: its description is cut, not squeezed to a lone "…".</summary>
public sealed class LiveRowTests
{
    private const string Byol = "epoch 3/100 step 12/40 loss 0.1234 tau 0.99600 lr 0.0003 1.25 steps/s";

    [Theory]
    [InlineData(40, "epoch 3/100 step 12/40…")]
    [InlineData(80, "epoch 3/100 step 12/40 loss 0.1234 tau 0.99600 lr 0.0003 1.25…")]
    [InlineData(150, Byol)]
    [InlineData(200, Byol)]
    public void The_description_keeps_its_start_and_fits_beside_the_other_columns(int width, string expected)
    {
        var description = LiveRow.Describe(Byol, width);

        Assert.Equal(expected, description);
        if (width < LiveRow.WideTerminal)
        {
            // Description, bar, percentage and the spaces between them: within the terminal, one column spare.
            Assert.InRange(description.Length + 10 + 4 + 2, width - 2, width - 1);
            Assert.Equal(3, LiveRow.Columns(width).Length);
        }
        else
        {
            Assert.Equal(6, LiveRow.Columns(width).Length);
        }
    }

    [Fact]
    public void A_cut_description_is_escaped_as_markup()
    {
        Assert.Equal("slide [[1]] of th…", LiveRow.Describe("slide [1] of the cohort, tiles 10/20 and more", 33));
    }
}
