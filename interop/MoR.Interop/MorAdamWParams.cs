using System.Runtime.InteropServices;

namespace MoR.Interop;

/// <summary><c>mor_adamw_params</c>: AdamW hyper-parameters for one fused step; <see cref="Step"/> counts from 1.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MorAdamWParams
{
    public float Lr;
    public float Beta1;
    public float Beta2;
    public float Eps;
    public float WeightDecay;
    public float GradScale;
    public long Step;
}
