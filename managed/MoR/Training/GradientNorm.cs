using MoR.Interop;
using MoR.Modules;

namespace MoR.Training;

/// <summary>The global L2 norm of all gradients, with mor_sum_squares (deterministic; NaN/Inf propagate, so it doubles as the non-finite check).</summary>
public static unsafe class GradientNorm
{
    /// <summary>√(Σ over parameters of Σ grad²), summed in double on the host.</summary>
    public static double Compute(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double total = 0;
        foreach (Parameter p in parameters)
        {
            double sum;
            NativeCall.Check(
                NativeMethods.mor_sum_squares(p.Grad.Device.Context, StreamHandle.Default, p.Numel, p.Grad.Handle, 0, &sum),
                nameof(NativeMethods.mor_sum_squares));
            total += sum;
        }

        return Math.Sqrt(total);
    }

    /// <summary>The factor that brings <paramref name="norm"/> down to <paramref name="maxNorm"/> (1 when already below, or when clipping is off).</summary>
    public static float ClipFactor(double norm, float maxNorm) =>
        maxNorm > 0 && norm > maxNorm ? (float)(maxNorm / (norm + 1e-6)) : 1f;
}
