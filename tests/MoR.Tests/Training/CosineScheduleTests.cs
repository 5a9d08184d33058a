using MoR.Training;

namespace MoR.Tests.Training;

/// <summary>Warm-up and cosine decay.</summary>
public sealed class CosineScheduleTests
{
    [Fact]
    public void Warms_up_linearly_then_decays_to_the_floor()
    {
        var s = new CosineSchedule(1f, warmupSteps: 10, totalSteps: 110, minRatio: 0.1f);
        Assert.Equal(0.1f, s.At(1), 6);
        Assert.Equal(1f, s.At(10), 6);
        Assert.Equal(0.55f, s.At(60), 5);  // half-way through the decay: floor + (1 − floor)/2
        Assert.Equal(0.1f, s.At(110), 6);
        for (int step = 11; step < 110; step++)
        {
            Assert.True(s.At(step + 1) <= s.At(step));
        }
    }

    [Fact]
    public void Without_warmup_starts_at_the_peak()
    {
        var s = new CosineSchedule(2f, 0, 4);
        Assert.Equal(2f * 0.5f * (1 + MathF.Cos(MathF.PI / 4)), s.At(1), 5);
        Assert.Equal(0f, s.At(4), 6);
    }
}
