/* MxJoint: the joint PETSc/TAO fit across samples (seed paper, Figures 2b, 3c, 4a):
   the SAXS pattern of every sample with a shared sphere radius and polydispersity, and the
   age-resolved decay rates Gamma(q, age) with a heating law shared across samples,
     Gamma_i(q, age) = D0_i q^2 H_i(q)/S_i(q) h(age),
   where dilute samples have S = H = 1 and dense ones the Percus-Yevick S(q; sigma_HS,i, phi_i)
   and the delta-gamma H_i(q) = Ds_i/D0 + H_d(q sigma_HS,i; phi_i) with Ds_i/D0 free. A dense
   sample's hard-sphere diameter sigma_HS,i is its own (free, 2R + an excess >= 0, or given), and
   its SAXS model the seed paper's I = c1 P + c2 P (S_PY + porod (q0/q)^4) + background
   (colloid part + liquid part, the q^-4 term inside S_liquid); a dilute one's c P + background
   + porod (q0/q)^4. D0_i is free (a dilute
   sample measures it) or given (-hydro_D0, e.g. from DLS). The measured S(q) = I/P of the
   best-fit P and the measured H(q) = Gamma0(q) S(q)/(D0 q^2) are returned beside the model.
   Formulas: docs/reference/physics-reference.md sections 1-3 and 5. Rank 0 fits; collective
   where noted. */
#pragma once
#include <mxpcs/lsq.h>
#include <mxpcs/schema.h>

typedef struct _p_MxJoint *MxJoint;

typedef enum { MX_HEAT_NONE, MX_HEAT_LINEAR, MX_HEAT_STOKES, MX_HEAT_DOSE } MxHeatingLaw;
/* "none", "linear", "stokes", "dose" */
extern const char *const MxHeatingLawNames[];

/* Kernels. h(age) of the adiabatic laws, age counted from zero dose (half a pulse spacing before
   the first frame's mean age): linear 1 + k age_us (k in 1/us); stokes: Stokes-Einstein with an
   Arrhenius viscosity, T = T0 + k age_us (k in K/us), h = (T/T0) exp(-Ea/R (1/T - 1/T0)). The
   dose law is heating.h's model: one effective fluence shared by the samples (a property of the
   beam), each sample's jump per pulse from its own composition, heat diffusing out of the beam. */
double MxHeatingFactor(MxHeatingLaw law, double k, double T0_K, double Ea_kJ_mol, double age_s);

PetscErrorCode MxJointCreate(MPI_Comm comm, MxJoint *j);
/* The names of the samples, in the order MxJointAddResults will add them (before
   MxJointSetFromOptions): each is the options prefix of its sample (valid prefix: a letter, then
   letters, digits, '_') and its group name in the output. Without names a sample is named after
   its file (colloid.h5: colloid) and has no options of its own. Collective. */
PetscErrorCode MxJointSetSampleNames(MxJoint j, PetscInt n, const char *const names[]);
/* -joint_heating dose|none|linear|stokes, -joint_T0_K, -joint_Ea_kJ_mol, -joint_arrhenius,
   -joint_heating_tau_us, per sample -NAME_heating_phi and -NAME_heating_path_mm (dose: default
   the composition its analyze used, /xpcs/fit/heating_*), -joint_porod, -joint_q_range
   (SAXS q range a:b in 1/angstrom for all samples), -joint_hd sg0|full, -joint_xtol, TAO options
   with prefix -joint_ (e.g. -joint_tao_monitor), and per sample NAME (MxJointSetSampleNames):
   -NAME_hydro_D0 (um^2/s, 0 = free, the default), -NAME_joint_dense 0|1 (default 0, dilute),
   -NAME_joint_q_range a:b, -NAME_joint_hs_diameter_A (dense: sigma_HS in angstrom, 0 = free, the
   default), -NAME_joint_colloid 0|1 (dense: the colloid part c1 P, default 1). Deprecated (one release, with a warning): -hydro_D0 d1,d2,...,
   -joint_dense 0,1,... and -joint_q_range a:b,c:d,... in input order. Collective. */
PetscErrorCode MxJointSetFromOptions(MxJoint j);
/* Add a sample from an `mxpcs analyze` results file (SAXS and Gamma(q, age) read on rank 0).
   Collective. */
PetscErrorCode MxJointAddResults(MxJoint j, const char path[]);
/* Fit (rank 0; the result and any error reach every rank). Collective. */
PetscErrorCode MxJointSolve(MxJoint j);
/* /saxs_model/<sample>, /hydro/<sample>, /joint into o (rank 0's data; items of the results
   schema, include/mxpcs/schema.def). Collective. */
PetscErrorCode MxJointWrite(MxJoint j, MxOut o);
/* The joint fit's output file: /entry (identifier and start time of the inputs, MxFitInputsEntry;
   program "fit (joint)") and MxJointWrite, written as FILE.part and renamed when complete;
   *replaced: FILE existed before (may be NULL). Collective. */
PetscErrorCode MxJointWriteFile(MxJoint j, const char path[], PetscBool *replaced);
PetscErrorCode MxJointView(MxJoint j, PetscViewer v);
PetscErrorCode MxJointDestroy(MxJoint *j);
