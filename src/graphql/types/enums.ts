// The Prisma enums, exposed under the same names (shared by several type files).
import { BranchFilterStrategy, DeliveryStatus, HookKind, SubjectType } from '../../generated/prisma/enums';
import { builder } from '../builder';

export const HookKindEnum = builder.enumType(HookKind, { name: 'HookKind' });
export const SubjectTypeEnum = builder.enumType(SubjectType, { name: 'SubjectType' });
export const BranchFilterStrategyEnum = builder.enumType(BranchFilterStrategy, { name: 'BranchFilterStrategy' });
export const DeliveryStatusEnum = builder.enumType(DeliveryStatus, { name: 'DeliveryStatus' });
