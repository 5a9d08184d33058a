# Float64 consistency check for MORA_MELORA.md (pure Python, no deps): MoRA types 1/6 forward vs closed-form dW,
# the authors' type-6 block placement (as transcribed in the doc), dx = dW^T g and dM by finite differences.
# Written from the spec in MORA_MELORA.md; not the authors' code. Run: python3 mora_check.py
import math, random
random.seed(1)
def rhat(i,o,r,t):
    n=int(math.sqrt((i+o)*r)+0.5)
    return n//2*2 if t==6 else n
def angles(rh, N):
    h=rh//2
    inv=[1.0/(10000**((2*j)/rh)) for j in range(h)]
    return [[b*inv[m%h] for m in range(rh)] for b in range(N)]
# forward following the authors' steps (type 1 and 6)
def fwd(x, M, din, dout, rh, t):
    N = -(-din//rh); pad=(rh-din%rh)%rh
    xp = x + x[:pad]
    if t==1:
        c=[sum(xp[g*rh+j] for g in range(N)) for j in range(rh)]
        v=[sum(M[k][j]*c[j] for j in range(rh)) for k in range(rh)]
        rep = dout//rh + (1 if dout%rh else 0)
        return (v*rep)[:dout]
    if t==6:
        A=angles(rh,N); h=rh//2; z=[]
        for b in range(N):
            ch=xp[b*rh:(b+1)*rh]
            rhv=[-ch[j+h] for j in range(h)]+[ch[j] for j in range(h)]
            u=[ch[j]*math.cos(A[b][j])+rhv[j]*math.sin(A[b][j]) for j in range(rh)]
            z+= [sum(M[k][j]*u[j] for j in range(rh)) for k in range(rh)]
        z=z[:dout]
        if len(z)<dout:
            rep=dout//len(z)+(1 if dout%len(z) else 0); z=(z*rep)[:dout]
        return z
# closed-form DeltaW from my spec
def dw_spec(M,din,dout,rh,t):
    N=-(-din//rh); pad=(rh-din%rh)%rh; L=N*rh; h=rh//2
    W=[[0.0]*din for _ in range(dout)]
    if t==1:
        for o in range(dout):
            for i in range(din):
                W[o][i]=M[o%rh][i%rh]+(M[o%rh][(i+din)%rh] if i<pad else 0.0)
        return W
    A=angles(rh,N)
    def R(b,j,m):  # rotation matrix entry: u = R x
        if j==m: return math.cos(A[b][j])
        if j<h and m==j+h: return -math.sin(A[b][j])
        if j>=h and m==j-h: return math.sin(A[b][m])
        return 0.0
    for o in range(dout):
        op=o%L; b=op//rh; k=op%rh
        for i in range(din):
            for tpos in ([i, i+din] if i<pad else [i]):
                if tpos//rh==b:
                    j=tpos%rh
                    W[o][i]+=sum(M[k][q]*R(b,q,j) for q in range(rh))
    return W
def check(din,dout,r,t):
    rh=rhat(din,dout,r,t)
    if rh>2*din: return
    M=[[random.uniform(-1,1) for _ in range(rh)] for _ in range(rh)]
    W=dw_spec(M,din,dout,rh,t)
    err=0
    for _ in range(3):
        x=[random.uniform(-1,1) for _ in range(din)]
        y=fwd(x,M,din,dout,rh,t)
        y2=[sum(W[o][i]*x[i] for i in range(din)) for o in range(dout)]
        err=max(err,max(abs(a-b) for a,b in zip(y,y2)))
    print(f"din={din} dout={dout} r={r} t={t} rhat={rh} N={-(-din//rh)} pad={(rh-din%rh)%rh} maxerr={err:.2e}")
for (di,do,r) in [(10,10,2),(13,7,2),(7,13,2),(11,30,1),(30,11,1),(9,9,4),(6,20,3),(20,6,3)]:
    for t in (1,6): check(di,do,r,t)

def dw_authors6(M,din,dout,rh):
    N=-(-din//rh); pad=(rh-din%rh)%rh; h=rh//2; A=angles(rh,N)
    if N<2: return None
    w=[[0.0]*din for _ in range(din+pad)]
    def P(b):
        aw2=[[ (M[k][m+h] if m<h else -M[k][m-h]) for m in range(rh)] for k in range(rh)]
        return [[aw2[k][m]*math.sin(A[b][m])+M[k][m]*math.cos(A[b][m]) for m in range(rh)] for k in range(rh)]
    for b in range(N-1):
        Pb=P(b)
        for k in range(rh):
            for m in range(rh): w[b*rh+k][b*rh+m]=Pb[k][m]
    b=N-1; Pb=P(b)
    for k in range(rh):
        for m in range(rh-pad): w[b*rh+k][b*rh+m]=Pb[k][m]
        for m in range(pad): w[b*rh+k][m]=Pb[k][rh-pad+m]
    if din<dout:
        rb2=-(-dout//rh); w=(w*rb2)[:dout]
    else: w=w[:dout]
    return w
print("authors' type-6 delta vs spec:")
for (di,do,r) in [(10,10,2),(13,7,2),(7,13,2),(11,30,1),(30,11,1),(9,9,4),(20,6,3),(12,13,2),(12,12,1)]:
    rh=rhat(di,do,r,6)
    M=[[random.uniform(-1,1) for _ in range(rh)] for _ in range(rh)]
    a=dw_authors6(M,di,do,rh); s=dw_spec(M,di,do,rh,6)
    if a is None: print(di,do,r,'N=1 (authors crash)'); continue
    print(di,do,r,'rhat',rh,'maxdiff',max(abs(a[o][i]-s[o][i]) for o in range(do) for i in range(di)))

for (di,do,r) in [(10,11,2),(7,8,2)]:
    rh=rhat(di,do,r,6)
    M=[[random.uniform(-1,1) for _ in range(rh)] for _ in range(rh)]
    a=dw_authors6(M,di,do,rh); s=dw_spec(M,di,do,rh,6)
    print(di,do,r,'rhat',rh,'L',-(-di//rh)*rh,'maxdiff',max(abs(a[o][i]-s[o][i]) for o in range(do) for i in range(di)))

# adjoint / gradient formulas
def bwd(x,gy,M,din,dout,rh,t):
    N=-(-din//rh); pad=(rh-din%rh)%rh; h=rh//2
    xp=x+x[:pad]
    if t==1:
        c=[sum(xp[g*rh+j] for g in range(N)) for j in range(rh)]
        gv=[sum(gy[o] for o in range(dout) if o%rh==k) for k in range(rh)]
        dM=[[gv[k]*c[j] for j in range(rh)] for k in range(rh)]
        gc=[sum(M[k][j]*gv[k] for k in range(rh)) for j in range(rh)]
        gx=[gc[i%rh]+(gc[(i+din)%rh] if i<pad else 0.0) for i in range(din)]
        return gx,dM
    L=N*rh; A=angles(rh,N)
    gz=[sum(gy[o] for o in range(dout) if o%L==p) for p in range(L)]
    dM=[[0.0]*rh for _ in range(rh)]; gxp=[0.0]*L
    for b in range(N):
        ch=xp[b*rh:(b+1)*rh]
        u=[0.0]*rh
        for j in range(h):
            cs,sn=math.cos(A[b][j]),math.sin(A[b][j])
            u[j]=ch[j]*cs-ch[j+h]*sn; u[j+h]=ch[j+h]*cs+ch[j]*sn
        gv=gz[b*rh:(b+1)*rh]
        for k in range(rh):
            for j in range(rh): dM[k][j]+=gv[k]*u[j]
        gu=[sum(M[k][j]*gv[k] for k in range(rh)) for j in range(rh)]
        for j in range(h):
            cs,sn=math.cos(A[b][j]),math.sin(A[b][j])
            gxp[b*rh+j]=gu[j]*cs+gu[j+h]*sn
            gxp[b*rh+j+h]=-gu[j]*sn+gu[j+h]*cs
    gx=[gxp[i]+(gxp[i+din] if i<pad else 0.0) for i in range(din)]
    return gx,dM
print("gradient checks:")
for (di,do,r) in [(10,10,2),(13,7,2),(7,13,2),(11,30,1),(30,11,1),(9,9,4),(20,6,3),(6,20,3)]:
    for t in (1,6):
        rh=rhat(di,do,r,t)
        M=[[random.uniform(-1,1) for _ in range(rh)] for _ in range(rh)]
        x=[random.uniform(-1,1) for _ in range(di)]; gy=[random.uniform(-1,1) for _ in range(do)]
        gx,dM=bwd(x,gy,M,di,do,rh,t)
        W=dw_spec(M,di,do,rh,t)
        e1=max(abs(gx[i]-sum(W[o][i]*gy[o] for o in range(do))) for i in range(di))
        e2=0
        for k in range(rh):
            for j in range(rh):
                M2=[row[:] for row in M]; M2[k][j]+=1.0
                y1=fwd(x,M,di,do,rh,t); y2=fwd(x,M2,di,do,rh,t)
                fd=sum(g*(b-a) for g,a,b in zip(gy,y1,y2))
                e2=max(e2,abs(fd-dM[k][j]))
        print(di,do,r,t,'gx err %.1e dM err %.1e'%(e1,e2))
