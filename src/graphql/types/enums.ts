// The Prisma enums, exposed under the same names (shared by several type files).
import { BranchFilterStrategy, DeliveryStatus, HookKind, SubjectType } from '../../generated/prisma/enums';
import { builder } from '../builder';

export const HookKindEnum = builder.enumType(HookKind, { name: 'HookKind' });
export const SubjectTypeEnum = builder.enumType(SubjectType, { name: 'SubjectType' });
export const BranchFilterStrategyEnum = builder.enumType(BranchFilterStrategy, { name: 'BranchFilterStrategy' });
export const DeliveryStatusEnum = builder.enumType(DeliveryStatus, { name: 'DeliveryStatus' });
export const SignatureSchemeEnum = builder.enumType('SignatureScheme', {
  values: {
    HMAC_SHA256: { description: 'Standard Webhooks `v1`: HMAC-SHA256 with the secret.' },
    ED25519: { description: 'Standard Webhooks `v1a`: Ed25519 with a `whsk_` key; receivers verify with `Hook.signingPublicKey`.' },
  } as const,
});
