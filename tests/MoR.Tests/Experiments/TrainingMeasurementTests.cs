using MoR.Experiments;

namespace MoR.Tests.Experiments;

/// <summary>The experiment's throughput number: warm-up steps left out, the median of the rest.</summary>
public sealed class TrainingMeasurementTests
{
    [Fact]
    public void Warm_up_steps_and_stalls_do_not_move_the_steady_state_rate()
    {
        // 20 steps: 2 slow warm-up steps (JIT, first allocations), then 1000 tok/s with two stalls from other jobs.
        double[] rates = [.. new double[] { 5, 50 }, .. Enumerable.Repeat(1000.0, 16), 10, 20];
        Assert.Equal(2, TrainingMeasurement.WarmupSteps(rates.Length));
        Assert.Equal(1000, TrainingMeasurement.SteadyTokensPerSecond(rates));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(4, 1)]
    [InlineData(1000, 100)]
    public void At_least_one_step_is_always_measured(int steps, int warmup)
    {
        Assert.Equal(warmup, TrainingMeasurement.WarmupSteps(steps));
        Assert.Equal(3, TrainingMeasurement.SteadyTokensPerSecond([.. Enumerable.Repeat(3.0, steps)]));
    }

    [Fact]
    public void An_even_number_of_steady_steps_takes_the_middle_pair()
    {
        Assert.Equal(15, TrainingMeasurement.SteadyTokensPerSecond([1, 10, 20]));
        Assert.True(double.IsNaN(TrainingMeasurement.SteadyTokensPerSecond([])));
    }
}
